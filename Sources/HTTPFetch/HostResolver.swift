#if canImport(Glibc)
import Glibc
#endif

/// Name resolution with the system resolver, once, so that the caller can check every
/// address before anything connects.
public enum HostResolver {
    /// Every address `getaddrinfo` gives `host` for TCP, in its order (RFC 6724 sorted),
    /// duplicates dropped: 4 bytes for IPv4, 16 for IPv6, network order.
    public static func addresses(of host: String) throws(HTTPFetchError) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            throw .resolveFailed(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }
        var found: [[UInt8]] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let address = info.ai_addr else { continue }
            let bytes: [UInt8]
            switch info.ai_family {
            case AF_INET:
                bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ip in
                    withUnsafeBytes(of: ip.pointee.sin_addr) { Array($0) }
                }
            case AF_INET6:
                bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ip in
                    withUnsafeBytes(of: ip.pointee.sin6_addr) { Array($0) }
                }
            default:
                continue
            }
            if !found.contains(bytes) { found.append(bytes) }
        }
        guard !found.isEmpty else { throw .resolveFailed(host: host, reason: "no IPv4 or IPv6 address") }
        return found
    }
}
