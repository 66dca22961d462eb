internal import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// Where an instance's listening socket comes from.
///
/// The three ways seen working on this platform: fd 0 (the FastCGI convention,
/// `spawn-fcgi`, systemd `StandardInput=socket`), fd 3 with `LISTEN_FDS=1`
/// (systemd socket activation), or a path the process binds itself.
public enum FastCGIListenSocket: Sendable, Equatable {
    case inherited(fd: Int32)
    case path(String)

    /// systemd's `LISTEN_FDS` wins (it is only meaningful when `LISTEN_PID` is ours or
    /// unset); then fd 0 if it is a socket; then the configured path.
    public static func detect(environment: [String: String], path: String?) -> FastCGIListenSocket? {
        if let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1,
            environment["LISTEN_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
        {
            return .inherited(fd: 3)
        }
        var status = stat()
        if fstat(0, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK {
            return .inherited(fd: 0)
        }
        return path.map { .path($0) }
    }

    /// The listening descriptor. `FCGX_OpenSocket` unlinks an existing socket at the
    /// path, so a path is for a lone instance; supervised ones inherit a shared socket.
    func open(backlog: Int32) throws(FastCGIError) -> Int32 {
        switch self {
        case .inherited(let fd):
            return fd
        case .path(let path):
            let fd = FCGX_OpenSocket(path, backlog)
            guard fd >= 0 else { throw FastCGIError.cannotListen(path) }
            return fd
        }
    }
}

public enum FastCGIError: Error, Equatable, Sendable {
    case cannotListen(String)
    case initFailed
}
