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
    /// by another user still serves); with nil, unlocked, when the file cannot be opened or
    /// locked: the caller decides what doing the work without the lock means.
    public static func holding<T, E: Error>(
        _ path: String, _ mode: Mode = .exclusive, _ body: (_ fd: Int32?) throws(E) -> T
    ) throws(E) -> T {
        let fd = open(path, (mode == .exclusive ? O_RDWR : O_RDONLY) | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return try body(nil) }
        defer { close(fd) }
        var locked: Int32
        repeat { locked = flock(fd, mode == .exclusive ? LOCK_EX : LOCK_SH) } while locked != 0 && errno == EINTR
        guard locked == 0 else { return try body(nil) }
        defer { flock(fd, LOCK_UN) }
        return try body(fd)
    }

    /// An exclusive lock on `path` (created if missing), taken without waiting and held
    /// for as long as the returned descriptor stays open (or the process lives): nil when
    /// another process holds it.
    public static func exclusiveWithoutWaiting(_ path: String) throws(SystemCallError) -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError("open", path: path) }
        var locked: Int32
        repeat { locked = flock(fd, LOCK_EX | LOCK_NB) } while locked != 0 && errno == EINTR
        guard locked == 0 else {
            let failure = Errno.current
            close(fd)
            if failure.rawValue == EWOULDBLOCK { return nil }
            throw SystemCallError("flock", path: path, errno: failure)
        }
        return fd
    }

    /// Runs `body` holding an exclusive lock of its own on `path`: a lock file for one key,
    /// made when needed and removed by its holder before it lets go, so keys never share a
    /// lock and none is left behind. A waiter that gets the lock of a file its holder has
    /// just removed tries again on the file now at `path` (lock, then check that `path`
    /// still names the locked file). `body` gets false, unlocked, when no lock file can be
    /// made or locked: the caller decides what doing the work without it means.
    public static func holdingOwnFile<T, E: Error>(_ path: String, _ body: (_ locked: Bool) throws(E) -> T) throws(E) -> T {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return try body(false) }
            var locked: Int32
            repeat { locked = flock(fd, LOCK_EX) } while locked != 0 && errno == EINTR
            guard locked == 0 else {
                close(fd)
                return try body(false)
            }
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino {
                defer {
                    unlink(path)
                    flock(fd, LOCK_UN)
                    close(fd)
                }
                return try body(true)
            }
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    /// Runs `body` holding the lock on `path` exclusively, trying every 5 ms for
    /// `milliseconds` (Linux gives a waiting exclusive request no precedence, so shared
    /// holders that keep overlapping would starve a blocking one). The file is never made
    /// here: a missing one has never been held, and `body` runs with nothing to hold. nil,
    /// without running `body`, when the time ran out or the file cannot be opened.
    public static func holdingExclusively<T, E: Error>(
        ifPresent path: String, trying milliseconds: Int, _ body: () throws(E) -> T
    ) throws(E) -> T? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? try body() : nil }
        defer { close(fd) }
        var triesLeft = max(1, milliseconds / 5)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            triesLeft -= 1
            guard triesLeft > 0, errno == EWOULDBLOCK || errno == EINTR else { return nil }
            usleep(5_000)
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
