#if canImport(Glibc)
import Glibc
#endif

/// A `flock` on a lock file, held while a closure runs (EINTR retried here).
public enum FileLock {
    public enum Mode: Sendable {
        /// One holder at a time.
        case exclusive
        /// Any number of holders together, none while an exclusive one holds it.
        case shared
    }

    /// Runs `body` holding the lock on `path` (created if missing), with the lock file's
    /// descriptor (read-write when exclusive, read-only when shared: a shared lock file made
    /// by another user, `check` run as root, still serves); with nil, unlocked, when the
    /// file cannot be opened: the caller decides what doing the work without the lock means.
    public static func holding<T, E: Error>(
        _ path: String, _ mode: Mode = .exclusive, _ body: (_ fd: Int32?) throws(E) -> T
    ) throws(E) -> T {
        let fd = open(path, (mode == .exclusive ? O_RDWR : O_RDONLY) | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return try body(nil) }
        defer { close(fd) }
        while flock(fd, mode == .exclusive ? LOCK_EX : LOCK_SH) != 0, errno == EINTR {}
        defer { flock(fd, LOCK_UN) }
        return try body(fd)
    }

    /// Takes the lock on `path` exclusively and lets it go at once: every holder of the
    /// moment has finished. Tries every 5 ms for `milliseconds` (Linux gives a waiting
    /// exclusive request no precedence, so shared holders that keep overlapping would
    /// starve a blocking one). False when the time ran out or the file cannot be opened;
    /// true when nobody holds it now, or its folder does not exist (nobody can have).
    public static func waitForHolders(of path: String, milliseconds: Int) -> Bool {
        let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return errno == ENOENT }
        defer { close(fd) }
        for _ in 0...max(0, milliseconds / 5) {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)
                return true
            }
            usleep(5_000)
        }
        return false
    }
}
