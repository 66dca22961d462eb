package import ProgimageAPI

/// An http(s) URL taken apart strictly and put back together in one canonical spelling,
/// so that the host the policy checks is exactly the host libcurl is handed.
///
/// Refused (`forbidden_url`): other schemes, userinfo (`http://allowed@evil/` reads one
/// way to people and another to parsers), `\` or `%` in the authority, non-ASCII host
/// names (send them as punycode), zones, ports outside 1–65535. A host whose last label
/// is a number is an IPv4 address, read as `inet_aton` does (`0x7f000001`, `127.1`);
/// if it is not a valid one the URL is refused, never sent to DNS.
package struct URLParts: Equatable, Sendable {
    package enum Host: Equatable, Sendable {
        /// A DNS name: lower case, no trailing dot.
        case name(String)
        case address(IPAddress)
    }

    package let scheme: String
    package let host: Host
    package let port: Int
    /// Starts with `/`; characters a URL may not hold percent-encoded; no fragment.
    package let pathAndQuery: String

    package init(_ text: String) throws(ServiceError) {
        let text = text.trimming(" \t\r\n")
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw Self.malformed("control characters")
        }
        guard let colon = text.firstIndex(of: ":") else { throw Self.malformed("no scheme") }
        scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw ServiceError(.forbiddenURL, "only http and https URLs can be fetched")
        }
        let afterScheme = text[text.index(after: colon)...]
        guard afterScheme.hasPrefix("//") else { throw Self.malformed("no //host after the scheme") }
        let rest = afterScheme.dropFirst(2)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.contains("@") else {
            throw ServiceError(.forbiddenURL, "URLs with a user name or password are not fetched")
        }
        guard !authority.contains("\\") else { throw Self.malformed("backslash in the host") }

        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Self.malformed("unclosed [") }
            let written = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { throw Self.malformed("text after ]") }
            portText = after.isEmpty ? nil : after.dropFirst()
            guard let address = IPAddress(ipv6: written) else { throw Self.malformed("bad IPv6 address") }
            host = .address(address)
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw Self.malformed("more than one : in the host") }
            portText = pieces.count == 2 ? pieces[1] : nil
            host = try Self.host(pieces[0])
        }
        if let portText, !portText.isEmpty {
            guard let number = PortNumber.parse(portText) else { throw Self.malformed("bad port") }
            port = number
        } else {
            port = Self.defaultPort(scheme)
        }

        let target = rest[authorityEnd...].prefix { $0 != "#" }
        let encoded = Self.percentEncoded(target)
        pathAndQuery = encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// The host part of a URL, not bracketed: an IPv4 address in any `inet_aton`
    /// spelling when its last label is numeric, else a DNS name.
    package static func host(_ text: Substring) throws(ServiceError) -> Host {
        let lowered = text.lowercased()
        let name = lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard let last = labels.last, !last.isEmpty, labels.count <= 127, name.utf8.count <= 253 else {
            throw malformed("bad host")
        }
        let numeric = last.isASCIIDecimal || (last.hasPrefix("0x") && last.dropFirst(2).isASCIIHex)
        if numeric {
            guard let address = IPAddress(inetAton: Substring(name)) else { throw malformed("bad IPv4 address") }
            return .address(address)
        }
        let allowed: (Character) -> Bool = {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_")
        }
        guard labels.allSatisfy({ (1...63).contains($0.count) && $0.allSatisfy(allowed) }) else {
            throw malformed("bad host name")
        }
        return .name(name)
    }

    /// The host as libcurl and the resolver see it: the name, or the address unbracketed.
    package var hostText: String {
        switch host {
        case .name(let name): name
        case .address(let address): address.description
        }
    }

    /// The URL handed to libcurl and reported as the final URL.
    package var url: String {
        let bracketed = if case .address(.v6) = host { "[\(hostText)]" } else { hostText }
        return "\(scheme)://\(bracketed)\(port == Self.defaultPort(scheme) ? "" : ":\(port)")\(pathAndQuery)"
    }

    /// The last segment of the path, percent-decoded; nil when empty (`/`, `/dir/`).
    package var lastPathSegment: String? {
        let path = pathAndQuery.prefix { $0 != "?" }
        guard let segment = path.split(separator: "/", omittingEmptySubsequences: false).last, !segment.isEmpty
        else { return nil }
        return PercentDecoding.decode(segment)
    }

    /// Keeps what RFC 3986 allows in a path and query, and `%XX` escapes; encodes the rest
    /// (space, non-ASCII as UTF-8, quotes, brackets, backslash, a `%` starting no escape).
    private static func percentEncoded(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out = ""
        for (index, byte) in bytes.enumerated() {
            let isEscape = byte == UInt8(ascii: "%") && index + 2 < bytes.count
                && Character(Unicode.Scalar(bytes[index + 1])).isHexDigit
                && Character(Unicode.Scalar(bytes[index + 2])).isHexDigit
            if isEscape || isAllowed(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true)
                    + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            allowedPunctuation.contains(byte)
        }
    }

    private static let allowedPunctuation = Set("-._~!$&'()*+,;=:@/?".utf8)

    private static func defaultPort(_ scheme: String) -> Int { scheme == "https" ? 443 : 80 }

    private static func malformed(_ detail: String) -> ServiceError {
        ServiceError(.forbiddenURL, "not a valid http(s) URL: \(detail)")
    }
}
