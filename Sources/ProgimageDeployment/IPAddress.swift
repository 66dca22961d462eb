/// An IPv4 or IPv6 address as a number: the policy does arithmetic on it, never text
/// comparison, so every spelling of one address is the same value.
package enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// From network-order bytes: 4 for IPv4, 16 for IPv6 (what `HostResolver` gives).
    package init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16: self = .v6(bytes.reduce(0) { $0 << 8 | UInt128($1) })
        default: return nil
        }
    }

    /// IPv4 the way `inet_aton` reads it, which is how resolvers and browsers have read
    /// hosts like `0x7f000001`, `2130706433`, `0177.0.0.1` and `127.1`: 1–4 parts, each
    /// decimal, octal (leading `0`) or hex (`0x`); the last part fills the bytes left.
    package init?(inetAton text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt32] = []
        for part in parts {
            guard let value = Self.inetAtonNumber(part) else { return nil }
            values.append(value)
        }
        let last = values.removeLast()
        guard values.allSatisfy({ $0 <= 255 }) else { return nil }
        let lastBits = 32 - 8 * values.count
        guard lastBits == 32 || last < (1 << lastBits) else { return nil }
        self = .v4(values.reduce(0) { $0 << 8 | $1 } << lastBits | last)
    }

    /// Exactly four decimal parts 0–255 without leading zeros (`inet_pton`'s IPv4).
    package init?(dottedQuad text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.isASCIIDecimal,
                part.count == 1 || part.first != "0", let byte = UInt32(part), byte <= 255
            else { return nil }
            value = value << 8 | byte
        }
        self = .v4(value)
    }

    /// RFC 4291 text: eight hex groups, one `::` for a run of zero groups, optionally an
    /// IPv4 dotted quad as the last 32 bits. No zone (`%eth0`): a zone names a link, and
    /// link-local addresses are refused anyway.
    package init?(ipv6 text: Substring) {
        var head = Substring(text)
        var tail: Substring?
        if let gap = text.firstRange(of: "::") {
            head = text[..<gap.lowerBound]
            tail = text[gap.upperBound...]
            guard tail?.contains("::") == false else { return nil }
        }
        guard let headGroups = Self.ipv6Groups(head, endsAddress: tail == nil),
            let tailGroups = tail.map({ Self.ipv6Groups($0, endsAddress: true) }) ?? []
        else { return nil }
        let count = headGroups.count + tailGroups.count
        guard tail == nil ? count == 8 : count <= 7 else { return nil }
        let groups = headGroups + Array(repeating: 0, count: 8 - count) + tailGroups
        self = .v6(groups.reduce(0) { $0 << 16 | UInt128($1) })
    }

    /// Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest zero run as `::`).
    package var description: String {
        switch self {
        case .v4(let value):
            return (0..<4).map { String(value >> (24 - 8 * $0) & 0xFF) }.joined(separator: ".")
        case .v6(let value):
            let groups = (0..<8).map { UInt16(truncatingIfNeeded: value >> (112 - 16 * $0)) }
            var best = (start: 0, count: 0)
            var run = (start: 0, count: 0)
            for (index, group) in groups.enumerated() {
                run = group == 0 ? (run.count == 0 ? (index, 1) : (run.start, run.count + 1)) : (0, 0)
                if run.count > best.count { best = run }
            }
            let text = groups.map { String($0, radix: 16) }
            guard best.count >= 2 else { return text.joined(separator: ":") }
            return text[..<best.start].joined(separator: ":") + "::"
                + text[(best.start + best.count)...].joined(separator: ":")
        }
    }

    package var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is; a socket to one
    /// reaches the other.
    package var unmapped: IPAddress {
        if case .v6(let value) = self, value >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: value)) }
        return self
    }

    private static func inetAtonNumber(_ part: Substring) -> UInt32? {
        var digits = part
        var radix: UInt64 = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count > 1, digits.hasPrefix("0") {
            digits = digits.dropFirst()
            radix = 8
        } else if digits.isEmpty {
            return nil
        }
        var value: UInt64 = 0
        for character in digits {
            guard character.isASCII, let digit = character.hexDigitValue, UInt64(digit) < radix else { return nil }
            value = value * radix + UInt64(digit)
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return UInt32(value)
    }

    private static func ipv6Groups(_ text: Substring, endsAddress: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if endsAddress, index == parts.count - 1, part.contains(".") {
                guard case .v4(let value) = IPAddress(dottedQuad: part) else { return nil }
                groups += [UInt16(value >> 16), UInt16(truncatingIfNeeded: value)]
            } else {
                guard (1...4).contains(part.count), part.isASCIIHex,
                    let group = UInt16(part, radix: 16)
                else { return nil }
                groups.append(group)
            }
        }
        return groups
    }
}

package extension Substring {
    /// Only `0`–`9` (`Character.isNumber` alone admits other scripts' digits).
    var isASCIIDecimal: Bool { allSatisfy { $0.isASCII && $0.isNumber } }
    /// Only `0`–`9`, `a`–`f`, `A`–`F`.
    var isASCIIHex: Bool { allSatisfy { $0.isASCII && $0.isHexDigit } }
}
