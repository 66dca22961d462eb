#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a lock file, held while a closure runs (EINTR retried here).
public enum FileLock {
    /// Runs `body` holding the lock on `path` (created if missing), with the lock file's
    /// descriptor; with nil, unlocked, when the file cannot be opened: the caller decides
    /// what doing the work without the lock means.
    public static func holding<T, E: Error>(_ path: String, _ body: (_ fd: Int32?) throws(E) -> T) throws(E) -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return try body(nil) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0, errno == EINTR {}
        defer { flock(fd, LOCK_UN) }
        return try body(fd)
    }
}
