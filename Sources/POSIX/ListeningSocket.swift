#if canImport(Glibc)
import Glibc
#endif

/// A listening unix stream socket that the supervisor owns for its whole life, the way
/// systemd owns an `Accept=no` socket unit.
///
/// Workers get a copy as fd 0 (the FastCGI convention). Because the supervisor keeps its
/// own copy open, connections nginx makes while a worker is dead or recycling wait in the
/// kernel's backlog instead of failing, and the next worker accepts them.
public struct ListeningSocket: Sendable {
    public let fd: Int32
    public let path: String

    /// `sun_path` holds 108 bytes including the terminating NUL.
    public static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Binds `path` (replacing a stale socket left by an earlier run), makes it
    /// connectable by any local user (nginx's worker user may differ from ours), and
    /// listens with a deep backlog so bursts queue rather than fail.
    /// The descriptor is close-on-exec: only `dup2` onto a worker's fd 0 passes it on, so
    /// no child ever holds another role's socket.
    /// A path longer than `maximumPathLength` is `ENAMETOOLONG`.
    public static func bind(path: String, backlog: Int32 = 1024) throws(SystemCallError) -> ListeningSocket {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count <= maximumPathLength else {
            throw SystemCallError("bind", path: path, errno: Errno(rawValue: ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket", path: path) }
        try? Files.remove(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let code = Errno.current
            Glibc.close(fd)
            throw SystemCallError("bind", path: path, errno: code)
        }
        // From here on the file exists: a failure takes it away with the descriptor.
        let socket = ListeningSocket(fd: fd, path: path)
        guard chmod(path, 0o666) == 0 else {
            let code = Errno.current
            socket.close()
            throw SystemCallError("chmod", path: path, errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = Errno.current
            socket.close()
            throw SystemCallError("listen", path: path, errno: code)
        }
        return socket
    }

    /// Closes our copy and removes the socket file.
    public func close() {
        _ = Glibc.close(fd)
        try? Files.remove(path)
    }
}
