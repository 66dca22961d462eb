/// An address block, `10.0.0.0/8` or `fc00::/7`; a lone address is a block of one.
package struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    package let network: IPAddress
    package let prefixLength: Int

    package init(_ address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        network = Self.masked(address, prefixLength)
    }

    /// `address[/prefix]`, the address strict (dotted quad or RFC 4291, brackets allowed
    /// around IPv6): `10/8` is refused rather than read as `0.0.0.10/8`.
    package init?(_ text: Substring) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var written = parts[0]
        if written.hasPrefix("["), written.hasSuffix("]") { written = written.dropFirst().dropLast() }
        guard let address = IPAddress(dottedQuad: written) ?? IPAddress(ipv6: written) else { return nil }
        let width = address.bitWidth
        var length = width
        if parts.count == 2 {
            guard (1...3).contains(parts[1].count), parts[1].isASCIIDecimal,
                let value = Int(parts[1]), value <= width
            else { return nil }
            length = value
        }
        self.init(address, prefixLength: length)
    }

    package func contains(_ address: IPAddress) -> Bool {
        address.bitWidth == network.bitWidth && Self.masked(address, prefixLength) == network
    }

    package var description: String { "\(network)/\(prefixLength)" }

    private static func masked(_ address: IPAddress, _ length: Int) -> IPAddress {
        switch address {
        case .v4(let value): .v4(length == 0 ? 0 : value & (UInt32.max << (32 - length)))
        case .v6(let value): .v6(length == 0 ? 0 : value & (UInt128.max << (128 - length)))
        }
    }
}
