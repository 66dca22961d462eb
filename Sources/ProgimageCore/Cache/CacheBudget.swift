import POSIX
import Dispatch
import Synchronization
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
/// Each process also publishes the bytes it has reserved and not yet put in place
/// (`.locks/pending/{pid}`): a file reserved before a pass and renamed into a folder after
/// the walk had read it was in neither the walk nor the writes counted during it, the pass
/// set the counter below the disk, and a burst of 8 renders took the cache ~10 % past its
/// budget for the ~5 s until the next pass (a black-box probe). A pass keeps what the live
/// processes had pending when it began; a dead process's file is dropped (one that died
/// between a reservation and its write had left its bytes counted for good).
public final class CacheBudget: Sendable {
    public let root: String
    public let maxBytes: Int
    /// This process's reserved bytes not yet in place, as `.locks/pending/{pid}` says.
    private let pendingHere = Mutex<Int>(0)
    private var counterPath: String { root + "/.locks/usage" }
    private var pendingFolder: String { root + "/.locks/pending" }
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
    /// `newFolders`: folders the write will create (a block each, as a pass counts them).
    public func reserve(bytes: Int, newFolders: Int = 0) -> Bool {
        // A budget of 0 keeps nothing, as the hourly prune with it keeps nothing: it had
        // meant no limit here, and the cache grew past the 0 it was given.
        guard maxBytes > 0 else { return false }
        let blocks = Self.onDisk(bytes, newFolders: newFolders)
        var fits = false
        let total = adjustCounter { used in
            fits = used + blocks <= maxBytes
            guard fits else { return used }
            publishPending(blocks)
            return used + blocks
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
    public func release(bytes: Int, newFolders: Int = 0) {
        guard maxBytes > 0 else { return }
        let blocks = Self.onDisk(bytes, newFolders: newFolders)
        adjustCounter { used in
            publishPending(-blocks)
            return used - blocks
        }
    }

    /// A reserved file is in place, where a pass's walk counts it.
    public func landed(bytes: Int, newFolders: Int = 0) {
        guard maxBytes > 0 else { return }
        let blocks = Self.onDisk(bytes, newFolders: newFolders)
        adjustCounter { used in
            publishPending(-blocks)
            return used
        }
    }

    private static func onDisk(_ bytes: Int, newFolders: Int) -> Int { (bytes + 4095) / 4096 * 4096 + newFolders * 4096 }

    /// The disk was full: evict now, whatever the counter says, down to four fifths of what
    /// the cache holds if that is below the low-water mark: on a disk smaller than the
    /// budget the pass had nothing to do, and the disk stayed full, every new URL rendered
    /// and not kept (a black-box probe: an 8 MB tmpfs under the default budget).
    public func diskIsFull() {
        let used = adjustCounter { $0 } ?? 0
        evictInBackground(downTo: min(lowWater, used / 5 * 4))
    }

    /// Derived files removed outside a pass (an image's delete): their bytes leave the
    /// counter now, not at the next pass.
    public func forget(bytes: Int) {
        guard maxBytes > 0, bytes > 0 else { return }
        adjustCounter { $0 - bytes }
    }

    /// An eviction pass on a background queue, unless one is running in any process.
    public func evictInBackground(downTo target: Int? = nil) {
        DispatchQueue.global(qos: .utility).async { _ = self.evict(downTo: target) }
    }

    /// One pass down to `target` (the low-water mark by default), if no other process is
    /// running one; returns its report, or nil when another pass was running.
    @discardableResult
    public func evict(downTo target: Int? = nil) -> CachePruner.Report? {
        // A short grace for leftovers: a pass started by a full disk must also free what a
        // crashed writer left in `.tmp`.
        let pruner = CachePruner(root: root, maxBytes: target ?? lowWater, grace: 600, protectRecent: 5)
        guard let report = try? pass(pruner, waiting: false) else { return nil }
        if report.bytesAfter > maxBytes {
            // Still over: what is left is all too recent to evict yet. Once it is not, again.
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(5500)) { _ = self.evict() }
        }
        return report
    }

    /// `pruner`'s pass over this cache, one at a time across all processes (nil when another
    /// is running and `waiting` is false), the counter then set from what the walk measured.
    /// Throws when the cache, or its lock file, cannot be read.
    /// `progimage-fcgi prune` passes through here too: its pass had left the counter where
    /// it was, and after it emptied the cache the next files found no room until an eviction
    /// pass measured again (a black-box tester).
    public func pass(_ pruner: CachePruner, waiting: Bool) throws(CachePruneError) -> CachePruner.Report? {
        try? Files.makeDirectories(root + "/.locks")
        let lock = open(evictionLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw CachePruneError(path: evictionLockPath, errno: .current) }
        defer { close(lock) }
        guard flock(lock, waiting ? LOCK_EX : LOCK_EX | LOCK_NB) == 0 else { return nil }
        defer { flock(lock, LOCK_UN) }
        var before = (used: 0, pending: 0)
        _ = adjustCounter { used in
            before = (used, pendingEverywhere())
            return used
        }
        let report = try pruner.prune()
        // Files reserved during the walk were counted meanwhile, and those pending when it
        // began may have landed where it had already been: keep both (one that landed
        // ahead of the walk counts twice until the next pass, on the safe side).
        _ = adjustCounter { now in report.bytesAfter + max(0, now - before.used) + before.pending }
        return report
    }

    /// The counter after `change`, or nil if it cannot be read or written. `change` runs
    /// under the counter's lock, as the pending files are written and read.
    @discardableResult
    func adjustCounter(_ change: (Int) -> Int) -> Int? {
        try? Files.makeDirectories(root + "/.locks")
        return FileLock.holding(counterPath) { fd -> Int? in
            guard let fd else { return nil }
            return Self.adjust(counterIn: fd, change)
        }
    }

    /// The bytes the counter in `root` says the derived files take (`progimage_cache_bytes`).
    public static func usedBytes(inCacheAt root: String) -> Int {
        number(in: (try? Files.read(root + "/.locks/usage")) ?? [])
    }

    /// Under the counter's lock: this process's pending bytes changed by `change`, published.
    private func publishPending(_ change: Int) {
        let value = pendingHere.withLock { pending in
            pending = max(0, pending + change)
            return pending
        }
        let path = pendingFolder + "/\(getpid())"
        if value == 0 {
            unlink(path)
        } else {
            try? Files.makeDirectories(pendingFolder)
            try? Files.write(Array(String(value).utf8), to: path)
        }
    }

    /// Under the counter's lock: what the live processes have pending; a dead one's file is
    /// removed (its reservations never land).
    func pendingEverywhere() -> Int {
        var total = 0
        for entry in Files.entries(in: pendingFolder) ?? [] {
            let path = pendingFolder + "/" + entry.name
            guard let pid = Int32(entry.name), pid > 0, kill(pid, 0) == 0 || errno != ESRCH else {
                unlink(path)
                continue
            }
            total += Self.number(in: (try? Files.read(path)) ?? [])
        }
        return total
    }

    /// The first number in a counter file's bytes (0 if none).
    private static func number(in bytes: [UInt8]) -> Int {
        Int(String(decoding: bytes.prefix { $0 >= 48 && $0 <= 57 }, as: UTF8.self)) ?? 0
    }

    private static func adjust(counterIn fd: Int32, _ change: (Int) -> Int) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        let current = count > 0 ? number(in: Array(buffer.prefix(count))) : 0
        let updated = max(0, change(current))
        let text = Array(String(updated).utf8)
        guard pwrite(fd, text, text.count, 0) == text.count, ftruncate(fd, off_t(text.count)) == 0 else { return nil }
        return updated
    }
}
