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
}
