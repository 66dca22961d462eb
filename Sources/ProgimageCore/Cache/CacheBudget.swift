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
///
/// The counter file also holds the bytes reserved and not yet in place (`pending`): a file
/// reserved before a pass and renamed into a folder after the walk had read it was in
/// neither the walk nor the writes counted during it, the pass set the counter below the
/// disk, and a burst of 8 renders took the cache ~10 % past its budget for the ~5 s until
/// the next pass (a black-box probe). A pass now keeps what was pending when it began.
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
            fits = current.used + blocks <= maxBytes
            return fits ? Usage(used: current.used + blocks, pending: current.pending + blocks) : current
        }?.used
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
        let blocks = Self.onDisk(bytes)
        adjustCounter { Usage(used: $0.used - blocks, pending: $0.pending - blocks) }
    }

    /// A reserved file is in place, where a pass's walk counts it.
    public func landed(bytes: Int) {
        guard maxBytes > 0 else { return }
        let blocks = Self.onDisk(bytes)
        adjustCounter { Usage(used: $0.used, pending: $0.pending - blocks) }
    }

    private static func onDisk(_ bytes: Int) -> Int { (bytes + 4095) / 4096 * 4096 }

    /// The disk was full: evict now, whatever the counter says, down to four fifths of what
    /// the cache holds if that is below the low-water mark: on a disk smaller than the
    /// budget the pass had nothing to do, and the disk stayed full, every new URL rendered
    /// and not kept (a black-box probe: an 8 MB tmpfs under the default budget).
    public func diskIsFull() {
        let used = adjustCounter { $0 }?.used ?? 0
        evictInBackground(downTo: min(lowWater, used / 5 * 4))
    }

    /// Derived files removed outside a pass (an image's delete): their bytes leave the
    /// counter now, not at the next pass.
    public func forget(bytes: Int) {
        guard maxBytes > 0, bytes > 0 else { return }
        adjustCounter { Usage(used: $0.used - bytes, pending: $0.pending) }
    }

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
        let before = adjustCounter { $0 } ?? Usage(used: 0, pending: 0)
        // A short grace for leftovers: a pass started by a full disk must also free what a
        // crashed writer left in `.tmp`.
        guard let report = try? CachePruner(root: root, maxBytes: target ?? lowWater, grace: 600, protectRecent: 5).prune()
        else { return nil }
        // Files reserved during the walk were counted meanwhile, and those pending when it
        // began may have landed where it had already been: keep both (one that landed
        // ahead of the walk counts twice until the next pass, on the safe side).
        _ = adjustCounter { now in
            Usage(used: report.bytesAfter + max(0, now.used - before.used) + before.pending, pending: now.pending)
        }
        if report.bytesAfter > maxBytes {
            // Still over: what is left is all too recent to evict yet. Once it is not, again.
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(5500)) { _ = self.evict() }
        }
        return report
    }

    /// The counter: bytes the derived files take (`used`), of which `pending` are reserved
    /// and not yet in place. Written as `used pending` (a lone number, as before: none pending).
    struct Usage: Equatable {
        var used: Int
        var pending: Int

        init(used: Int, pending: Int) {
            self.used = max(0, used)
            self.pending = max(0, min(pending, self.used))
        }

        init(text: String) {
            let numbers = text.split(separator: " ").map { Int($0.filter(\.isNumber)) ?? 0 }
            self.init(used: numbers.first ?? 0, pending: numbers.count > 1 ? numbers[1] : 0)
        }

        var text: String { "\(used) \(pending)" }
    }

    /// The counter after `change`, or nil if it cannot be read or written.
    @discardableResult
    func adjustCounter(_ change: (Usage) -> Usage) -> Usage? {
        try? Files.makeDirectories(root + "/.locks")
        return FileLock.holding(counterPath) { fd -> Usage? in
            guard let fd else { return nil }
            return Self.adjust(counterIn: fd, change)
        }
    }

    /// The bytes the counter in `root` says the derived files take (`progimage_cache_bytes`).
    public static func usedBytes(inCacheAt root: String) -> Int {
        Usage(text: String(decoding: (try? Files.read(root + "/.locks/usage")) ?? [], as: UTF8.self)).used
    }

    /// Forgets what is pending: the api instance's pass at start, when no writer of before
    /// is left (a worker that died between a reservation and its write left it pending).
    public func forgetPending() {
        guard maxBytes > 0 else { return }
        adjustCounter { Usage(used: $0.used, pending: 0) }
    }

    private static func adjust(counterIn fd: Int32, _ change: (Usage) -> Usage) -> Usage? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = pread(fd, &buffer, buffer.count, 0)
        let current = Usage(text: count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : "")
        let updated = change(current)
        let text = Array(updated.text.utf8)
        guard pwrite(fd, text, text.count, 0) == text.count, ftruncate(fd, off_t(text.count)) == 0 else { return nil }
        return updated
    }
}
