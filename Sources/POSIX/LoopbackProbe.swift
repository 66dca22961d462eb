#if canImport(Glibc)
import Glibc
#endif

/// Whether something accepts TCP connections on 127.0.0.1:port.
///
/// Used twice: before start (a port already taken would make nginx fail to bind while
/// our readiness check happily talks to the other process) and to know when nginx is
/// really serving, so the "serving on" line is only printed when it is true.
public enum LoopbackProbe {
    public static func isAccepting(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        // A blocking connect to loopback answers at once: accepted, or refused.
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
