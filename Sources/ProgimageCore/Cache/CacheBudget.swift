import POSIX
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the derived-image cache within `PROGIMAGE_CACHE_MAX_BYTES` all the time, as
/// nginx's cache manager keeps `max_size`: every process that writes a derived file adds
/// its size to one shared counter (a few bytes in `.locks/usage`, under `flock`: ~10 µs
/// against milliseconds of rendering) before writing it, and only if it fits; the write
/// that takes the counter past 95 % of the budget starts an eviction in the background,
/// down to 80 %, least recently used first (`CachePruner`), never a file used in the last
/// 5 s (nginx may be sending a MISS from it). One eviction at a time across all processes (`flock` on
/// `.locks/evict`); it measures the cache as it walks, so the counter is corrected by every
/// pass, and the api instance runs one at start (the counter may be stale after a crash or
/// a wiped cache). The hourly `progimage-fcgi prune` stays as a safety net.
public final class CacheBudget: Sendable {
    public let root: String
    public let maxBytes: Int
    private var counterPath: String { root + "/.locks/usage" }
    private var evictionLockPath: String { root + "/.locks/evict" }

    public init(root: String, maxBytes: Int) {
        self.root = root
        self.maxBytes = maxBytes
    }

    var highWater: Int { maxBytes / 100 * 95 }
    var lowWater: Int { maxBytes / 100 * 80 }

    /// Counts a file about to be written (its size rounded up to a 4 KB block, as the disk
    /// holds it) if it fits the budget, and starts an eviction when the cache passes the
    /// high-water mark. false: no room (files used in the last 5 s are not evicted, so a
    /// burst of new files can fill the budget): the file is not kept, and the caller answers
    /// with the bytes themselves, as for a full disk. Measured with a 3 MB budget and 25
    /// new 640 KB files in two seconds: the cache reached 16 MB before, 3 MB now.
    public func reserve(bytes: Int) -> Bool {
        // A budget of 0 keeps nothing, as the hourly prune with it keeps nothing: it had
        // meant no limit here, and the cache grew past the 0 it was given.
        guard maxBytes > 0 else { return false }
        let blocks = Self.onDisk(bytes)
        var fits = false
        let total = adjustCounter { current in
            fits = current + blocks <= maxBytes
            return fits ? current + blocks : current
        }
        // An unreadable counter refuses nothing.
        guard let total else { return true }
        if !fits, blocks <= maxBytes {
            // Down to where this file would fit, should that be below the low-water mark:
            // a file over a fifth of the budget would otherwise never find room.
            evictInBackground(downTo: min(lowWater, maxBytes - blocks))
        } else if total > highWater {
            evictInBackground()
        }
        return fits
    }

    /// A reserved file that was not written after all.
    public func release(bytes: Int) {
        guard maxBytes > 0 else { return }
        adjustCounter { $0 - Self.onDisk(bytes) }
    }

    private static func onDisk(_ bytes: Int) -> Int { (bytes + 4095) / 4096 * 4096 }

    /// The disk was full: evict now, whatever the counter says.
    public func diskIsFull() { evictInBackground() }

    /// An eviction pass on a background queue, unless one is running in any process.
    public func evictInBackground(downTo target: Int? = nil) {
        DispatchQueue.global(qos: .utility).async { _ = self.evict(downTo: target) }
    }

    /// One pass down to `target` (the low-water mark by default), if no other process is
    /// running one; returns its report, or nil when another pass was running.
    @discardableResult
    public func evict(downTo target: Int? = nil) -> CachePruner.Report? {
        try? Files.makeDirectories(root + "/.locks")
        let lock = open(evictionLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { return nil }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return nil }
        defer { flock(lock, LOCK_UN) }
        let before = adjustCounter { $0 } ?? 0
        // A short grace for leftovers: a pass started by a full disk must also free what a
        // crashed writer left in `.tmp`.
        guard let report = try? CachePruner(root: root, maxBytes: target ?? lowWater, grace: 600, protectRecent: 5).prune()
        else { return nil }
        // Files written during the walk were counted meanwhile; keep them.
        _ = adjustCounter { report.bytesAfter + max(0, $0 - before) }
        if report.bytesAfter > maxBytes {
            // Still over: what is left is all too recent to evict yet. Once it is not, again.
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(5500)) { _ = self.evict() }
        }
        return report
    }

    /// The counter's value after `change`, or nil if it cannot be read or written.
    @discardableResult
    func adjustCounter(_ change: (Int) -> Int) -> Int? {
        try? Files.makeDirectories(root + "/.locks")
        return FileLock.holding(counterPath) { fd -> Int? in
            guard let fd else { return nil }
            return Self.adjust(counterIn: fd, change)
        }
    }

    private static func adjust(counterIn fd: Int32, _ change: (Int) -> Int) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        let current = count > 0 ? Int(String(decoding: buffer.prefix(count).filter { $0 >= 48 && $0 <= 57 }, as: UTF8.self)) ?? 0 : 0
        let updated = max(0, change(current))
        let text = Array(String(updated).utf8)
        guard pwrite(fd, text, text.count, 0) == text.count, ftruncate(fd, off_t(text.count)) == 0 else { return nil }
        return updated
    }
}
