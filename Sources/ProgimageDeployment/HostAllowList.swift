import ProgimageAPI
/// `PROGIMAGE_FETCH_ALLOW_HOSTS`: what link ingest may reach although `AddressPolicy`
/// refuses it. An entry is a host name (matched against the URL's host as written,
/// case-insensitively, trailing dot ignored), an address (`10.0.0.7`, `::1`, `[::1]`) or
/// a block (`10.0.0.0/8`, `fc00::/7`). Addresses and blocks are written strictly: `10/8`
/// or `0x0a000001` match nothing, rather than something unintended.
package struct HostAllowList: Sendable {
    private let names: Set<String>
    private let blocks: [CIDR]
    /// Entries that are neither a host name nor an address or block; they match nothing.
    package let invalidEntries: [String]

    package init(_ entries: [String]) {
        var names: Set<String> = []
        var blocks: [CIDR] = []
        var invalid: [String] = []
        for entry in entries {
            let text = entry.trimming(" \t").lowercased()
            if let block = CIDR(Substring(text)) {
                blocks.append(block)
            } else if case .name(let name)? = try? URLParts.host(Substring(text)) {
                names.insert(name)
            } else if !text.isEmpty {
                invalid.append(entry)
            }
        }
        self.names = names
        self.blocks = blocks
        invalidEntries = invalid
    }

    /// True when the URL's host, as written (canonical: lower case, no trailing dot), is listed.
    package func permits(hostName: String) -> Bool { names.contains(hostName) }

    /// True when a listed address or block contains `address` (or the IPv4 address an
    /// IPv4-mapped `address` is).
    package func permits(_ address: IPAddress) -> Bool {
        blocks.contains { $0.contains(address) || $0.contains(address.unmapped) }
    }
}
