#if canImport(Glibc)
import Glibc
#endif

/// Waiting for children, with `waitpid`'s EINTR retried here rather than at every caller.
public enum ChildExit {
    /// Blocks until `pid` exits; its raw wait status (0 if it could not be waited for).
    public static func wait(for pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return 0 }
        }
        return status
    }

    /// A child that has exited, without blocking; nil when none has.
    public static func reap() -> (pid: Int32, status: Int32)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            return pid > 0 ? (pid, status) : nil
        }
    }
}

/// Reading what the running executable is.
public enum RunningExecutable {
    /// The absolute path of this process's executable (`/proc/self/exe`).
    public static func path() throws(SystemCallError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw SystemCallError("readlink", path: "/proc/self/exe") }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A pipe whose ends are closed on exec (a child gets one only through `dup2`). The flag is
/// set after `pipe` (Glibc's module does not export `pipe2`): only for a caller that spawns
/// from one thread, as the supervisor does, so no other spawn can race it.
public enum Pipe {
    public static func make() throws(SystemCallError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemCallError("pipe", path: "") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}
