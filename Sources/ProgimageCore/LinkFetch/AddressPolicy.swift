import ProgimageDeployment
/// Which addresses link ingest refuses to connect to: everything that is not the public
/// Internet (IANA's special-purpose registries, RFC 6890 and its updates), so that a URL
/// cannot make the service reach itself, its neighbours or its cloud metadata endpoint.
enum AddressPolicy {
    /// Why `address` is refused, or nil when it is a public unicast address.
    static func refusal(for address: IPAddress) -> String? {
        if let block = refused.first(where: { $0.block.contains(address) }) { return block.reason }
        guard case .v6(let value) = address else { return nil }
        // IPv6 forms that carry an IPv4 address a packet reaches: judge that address.
        if let embedded = embeddedIPv4.first(where: { $0.block.contains(address) }) {
            let v4 = IPAddress.v4(UInt32(truncatingIfNeeded: value >> embedded.shift))
            return refusal(for: v4).map { "\(embedded.form) of \(v4), \($0)" }
        }
        return globalUnicast.contains(address) ? nil : "not global unicast (outside 2000::/3)"
    }

    /// All of IPv6 that the Internet routes to hosts; the rest is reserved or local.
    private static let globalUnicast = CIDR("2000::/3")!

    private static let refused: [(block: CIDR, reason: String)] = [
        ("0.0.0.0/8", "unspecified (\"this network\"; Linux connects it to the local host)"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata lives here)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved (and the broadcast address)"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo (tunnels to an address hidden in it)"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (private)"),
        ("ff00::/8", "multicast"),
    ].map { (CIDR($0.0)!, $0.1) }

    /// IPv6 blocks whose packets go to an IPv4 address inside them, and where it sits.
    private static let embeddedIPv4: [(block: CIDR, shift: Int, form: String)] = [
        ("::ffff:0:0/96", 0, "IPv4-mapped form"),
        ("::/96", 0, "IPv4-compatible form"),
        ("::ffff:0:0:0/96", 0, "IPv4-translated form"),
        ("64:ff9b::/96", 0, "NAT64 form"),
        ("2002::/16", 80, "6to4 form"),
    ].map { (CIDR($0.0)!, $0.1, $0.2) }
}
