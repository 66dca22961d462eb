/// A header value such as `form-data; name="file"; filename="cat.jpg"` split into its
/// leading value and its `;`-separated parameters (RFC 9110 §5.6.6).
///
/// Parsing works on UTF-8 bytes: every delimiter is ASCII, so raw UTF-8 that browsers put
/// in quoted filenames passes through untouched. Parameter names are case-insensitive and
/// the first occurrence of a name wins. Unquoted values are taken up to the next `;` and
/// trimmed, which accepts the unquoted filenames with spaces that some clients send.
public struct HeaderParameters: Sendable {
    private struct Parameter: Sendable {
        let name: String
        let value: String
    }

    /// The part before the first `;`, trimmed, in its original case.
    public let value: String
    private let parameters: [Parameter]

    public init(_ headerValue: String) {
        var scanner = HeaderValueScanner(Array(headerValue.utf8))
        value = scanner.leadingValue()
        var parameters: [Parameter] = []
        while let (name, value) = scanner.nextParameter() {
            parameters.append(Parameter(name: name, value: value))
        }
        self.parameters = parameters
    }

    /// The parameter's value; `name` is matched case-insensitively.
    public subscript(name: String) -> String? {
        let wanted = HeaderValueScanner.asciiLowercased(name)
        return parameters.first { $0.name == wanted }?.value
    }

    /// `filename*` (RFC 8187) wins over `filename` when it decodes, as RFC 6266 §4.3 asks,
    /// because it is the only spelling that can carry non-ASCII names unambiguously.
    public var filename: String? {
        if let extended = self["filename*"], let decoded = ExtendedParameterValue.decode(extended) {
            return decoded
        }
        return self["filename"]
    }

    /// A form part's `filename` as browsers write it: the HTML standard's multipart/form-data
    /// encoding replaces `"`, CR and LF in names with `%22`, `%0D` and `%0A` (and nothing
    /// else), so those three are decoded; `we ird"name.png` was stored as `we ird%22name.png`.
    public var formDataFilename: String? {
        if let extended = self["filename*"], let decoded = ExtendedParameterValue.decode(extended) {
            return decoded
        }
        guard let filename = self["filename"] else { return nil }
        let escapes: [(String.UTF8View, UInt8)] = [("%22".utf8, 0x22), ("%0D".utf8, 0x0D), ("%0A".utf8, 0x0A)]
        let bytes = Array(filename.utf8)
        var decoded: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if let (escape, byte) = escapes.first(where: { bytes[index...].starts(with: $0.0) }) {
                decoded.append(byte)
                index += escape.count
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }
}
