import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Writes to fds 1 and 2 directly: Glibc's `stdout`/`stderr` globals are not usable from
/// Swift 6, and `print` buffers when stdout is a pipe (the black-box tests read it).
enum StandardStreams {
    static func writeLine(_ text: String, to fd: Int32 = 1) {
        write(text + "\n", to: fd)
    }

    /// Writes `text` as is, retrying short writes.
    static func write(_ text: String, to fd: Int32 = 1) {
        try? FileDescriptorIO.write(Array(text.utf8), to: fd)
    }

    static func error(_ text: String) {
        writeLine("progimage-dev: " + text, to: 2)
    }

    /// Opens /dev/null on any of fds 0–2 that is closed. Otherwise `socket()` could hand
    /// back fd 0, and `dup2(fd, 0)` for a worker would be a no-op that leaves the
    /// close-on-exec flag set: the worker would start without its socket.
    static func ensureOpen() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0 && opened != fd {
                dup2(opened, fd)
                close(opened)
            }
        }
    }
}
