public import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the derived-image cache (`PROGIMAGE_CACHE_DIR`) under a byte budget, deleting the
/// least recently used files first. Everything in the cache regenerates on demand, so a
/// deleted file costs one cache miss; originals live in the data directory and are never
/// looked at.
///
/// The workers write while this runs, so every step tolerates a concurrent change: a file
/// that vanished is skipped, `rmdir` of a directory that gained a file fails harmlessly.
/// The cache's own folders are handled by what they hold:
/// - `.locks`: never touched. Deleting a lock file someone holds would let a second
///   process lock a new file of the same name and make the same derived file twice.
/// - `.tmp`: files being written, renamed into place within milliseconds; only leftovers
///   of a crashed writer (unchanged for `grace`) are removed.
/// - `.trash`: directories of deleted images, renamed away and being removed by the api
///   role; only leftovers unchanged for `grace` are removed.
public struct CachePruner: Sendable {
    /// A derived file, as the pruner ranks it.
    public struct Entry: Equatable, Sendable {
        public var path: String
        /// Space on disk (`st_blocks` × 512, what `du` counts): a 2 KB thumbnail takes a
        /// whole 4 KB block, and the budget is about the disk.
        public var bytes: Int
        /// Seconds since the epoch of the last read, or of the last write when that is
        /// later (a `noatime` mount never updates atime, so it stays at creation). Under
        /// `relatime`, Linux's default, a read updates atime only when it is not after the
        /// file's mtime or ctime: each pass re-arms the files read since the one before
        /// (`rearmReadTime`), so lastUse is the first read since the last pass.
        public var lastUse: Int

        public init(path: String, bytes: Int, lastUse: Int) {
            self.path = path
            self.bytes = bytes
            self.lastUse = lastUse
        }
    }

    /// What one pass saw and did.
    public struct Report: Equatable, Sendable {
        /// Derived files found, and the space they and their folders took before and after
        /// the pass.
        public var files = 0
        public var bytesBefore = 0
        public var bytesAfter = 0
        public var removedFiles = 0
        public var removedBytes = 0
        public var removedDirectories = 0
        /// Files the budget would have evicted that `mayRemove` kept.
        public var keptFiles = 0
        /// Stale entries of `.tmp` and `.trash` removed.
        public var removedLeftovers = 0
        /// Lines of the overlays' lists of users naming files gone (the pass's own among
        /// them), dropped after it (`DerivedImageCache.compactOverlayUses`).
        public var droppedOverlayUses = 0
        /// Entries that could not be read or removed for a reason other than a concurrent
        /// change (permissions, I/O errors).
        public var errors = 0

        public init() {}
    }

    public let root: String
    public let maxBytes: Int
    /// Seconds a `.tmp` or `.trash` entry, or an empty directory this pass did not empty
    /// itself, must stay unchanged before it is removed. A directory a worker has just
    /// created for a file it is about to rename into place is empty for a moment.
    public let grace: Int

    /// Files used this recently (seconds) are never victims: a file a worker has just
    /// written is being served by nginx from its path (`X-Accel-Redirect`) right now.
    public let protectRecent: Int

    /// Whether a file the budget would evict may go (nil: every file may): the local copies
    /// of originals go only while the bucket holds their object.
    public let mayRemove: (@Sendable (String) -> Bool)?

    public init(
        root: String, maxBytes: Int, grace: Int = 3600, protectRecent: Int = 0, mayRemove: (@Sendable (String) -> Bool)? = nil
    ) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.maxBytes = maxBytes
        self.grace = grace
        self.protectRecent = protectRecent
        self.mayRemove = mayRemove
    }

    /// Least recently used first, ties broken by path; none used at or after `protectedSince`.
    static func evictionOrder(_ entries: [Entry], protectedSince: Int) -> [Entry] {
        entries.sorted(by: { ($0.lastUse, $0.path) < ($1.lastUse, $1.path) }).prefix { $0.lastUse < protectedSince }.map { $0 }
    }

    /// Whether one directory is, contains or lies inside the other: pruning a cache that
    /// overlaps the data directory would delete originals. Symbolic links are resolved.
    public static func overlaps(_ first: String, _ second: String) -> Bool {
        let a = resolved(first)
        let b = resolved(second)
        return a == b || a.hasPrefix(b == "/" ? b : b + "/") || b.hasPrefix(a == "/" ? a : a + "/")
    }

    /// One pass: leftovers first, then least recently used files until the cache fits,
    /// then empty directories. A missing cache directory is an empty cache.
    public func prune(now: Int? = nil) throws(CachePruneError) -> Report {
        let now = now ?? Int(time(nil))
        var status = stat()
        // The root may be a link (a cache moved to another disk); nothing below it is followed.
        guard stat(root, &status) == 0 else {
            if errno == ENOENT { return Report() }
            throw CachePruneError(path: root, errno: .current)
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw CachePruneError(path: root, errno: .notDirectory) }

        var scan = Scan()
        walk(root, depth: 0, into: &scan, now: now)
        var report = scan.report
        report.files = scan.files.count
        // Folders take blocks too (4 KB each on ext4): a file a chain in a folder of its own
        // took 8 KB where 4 were counted, and a burst of tiny ones doubled the disk the
        // budget allowed (a black-box tester).
        report.bytesBefore = (scan.files.map(\.bytes) + scan.directories.map(\.bytes)).reduce(0, +)
        report.bytesAfter = report.bytesBefore

        // What each directory held when the walk read it, less what this pass removed; a
        // directory this pass took entries from is one it emptied itself.
        // (A name readdir returned twice while the cache changed counts once.)
        var remaining = Dictionary(scan.directories.map { ($0.path, $0.entries) }, uniquingKeysWith: { first, _ in first })
        var emptied = Set<String>()
        func removed(from directory: String) {
            remaining[directory]? -= 1
            emptied.insert(directory)
        }
        let protectedSince = protectRecent > 0 ? now - protectRecent : .max
        // Evicting a file often empties its folder, which this pass then removes (below):
        // its blocks are counted as freed with the file, cascading up, so the pass stops at
        // its target and does not evict twice what it needs (one thumbnail per image had
        // ended a pass at ~45 % of the budget; the reviewer's arithmetic).
        let folderSizes = Dictionary(scan.directories.map { ($0.path, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        var projectedRemaining = remaining
        var projected = report.bytesBefore
        for victim in Self.evictionOrder(scan.files, protectedSince: protectedSince) where projected > maxBytes {
            if let mayRemove, !mayRemove(victim.path) {
                report.keptFiles += 1
                continue
            }
            if unlink(victim.path) == 0 {
                report.removedFiles += 1
                report.removedBytes += victim.bytes
            } else if errno != ENOENT {
                report.errors += 1
                continue
            }
            removed(from: Files.parent(of: victim.path))
            report.bytesAfter -= victim.bytes
            projected -= victim.bytes
            var folder = Files.parent(of: victim.path)
            projectedRemaining[folder]? -= 1
            while projectedRemaining[folder] == 0, let size = folderSizes[folder] {
                projected -= size
                folder = Files.parent(of: folder)
                projectedRemaining[folder]? -= 1
            }
        }

        // An evicted one fails harmlessly (ENOENT).
        for file in scan.read { Self.rearmReadTime(file.path, atime: file.atime) }

        // Post-order: a directory comes after its subdirectories, so emptiness cascades.
        // Only directories that should be empty are tried; one that gained a file since the
        // walk fails `rmdir` harmlessly.
        for directory in scan.directories where remaining[directory.path] == 0 {
            guard emptied.contains(directory.path) || Self.age(since: directory.changed, now: now) >= grace else { continue }
            if rmdir(directory.path) == 0 {
                report.removedDirectories += 1
                report.bytesAfter -= directory.bytes
                removed(from: Files.parent(of: directory.path))
            }
        }
        report.droppedOverlayUses = DerivedImageCache(root: root).compactOverlayUses()
        return report
    }

    private struct Scan {
        var files: [Entry] = []
        /// Files read since their atime was last armed, with that read's time.
        var read: [(path: String, atime: timespec)] = []
        /// Every directory below the root except the cache's own folders, children first.
        var directories: [Directory] = []
        var report = Report()
    }

    private struct Directory {
        let path: String
        /// Its ctime as the walk saw it (see `age(of:now:)` for why ctime).
        let changed: Int
        /// Entries the walk found in it.
        let entries: Int
        /// Its own blocks (`st_blocks` × 512).
        let bytes: Int
    }

    /// Adds what lies below `directory` to `scan`; returns how many entries it holds, or
    /// nil if it cannot be read.
    @discardableResult
    private func walk(_ directory: String, depth: Int, into scan: inout Scan, now: Int) -> Int? {
        guard let names = Files.entries(in: directory)?.map(\.name) else {
            if errno != ENOENT { scan.report.errors += 1 }
            return nil
        }
        for name in names {
            let path = directory + "/" + name
            if depth == 0, [DerivedImageCache.locksFolder, DerivedImageCache.metricsFolder, DerivedImageCache.overlaysFolder].contains(name) {
                continue
            }
            if depth == 0, name == DerivedImageCache.temporaryFolder || name == DerivedImageCache.trashFolder {
                removeLeftovers(in: path, report: &scan.report, now: now)
                continue
            }
            var status = stat()
            guard lstat(path, &status) == 0 else {
                if errno != ENOENT { scan.report.errors += 1 }
                continue
            }
            // Never follows a symbolic link: the pass cannot leave the cache directory.
            if status.st_mode & S_IFMT == S_IFDIR {
                // One that cannot be read is tried like an empty one once old enough:
                // `rmdir` fails harmlessly if it is not.
                let entries = walk(path, depth: depth + 1, into: &scan, now: now) ?? 0
                scan.directories.append(
                    Directory(path: path, changed: Int(status.st_ctim.tv_sec), entries: entries, bytes: Int(status.st_blocks) * 512))
            } else {
                let lastUse = max(Int(status.st_atim.tv_sec), Int(status.st_mtim.tv_sec))
                scan.files.append(Entry(path: path, bytes: Int(status.st_blocks) * 512, lastUse: lastUse))
                if Self.isAfter(status.st_atim, status.st_ctim) { scan.read.append((path, status.st_atim)) }
            }
        }
        return names.count
    }

    /// Removes the entries of `.tmp` or `.trash` unchanged for `grace`: what a crashed
    /// writer or deleter left behind. Younger ones may be in use and stay.
    private func removeLeftovers(in folder: String, report: inout Report, now: Int) {
        guard let names = Files.entries(in: folder)?.map(\.name) else { return }
        for name in names {
            let path = folder + "/" + name
            var status = stat()
            guard lstat(path, &status) == 0, age(of: status, now: now) >= grace else { continue }
            if status.st_mode & S_IFMT == S_IFDIR {
                Files.removeTree(path)
            } else {
                unlink(path)
            }
            if lstat(path, &status) == 0 {
                report.errors += 1
            } else {
                report.removedLeftovers += 1
            }
        }
    }

    private static func isAfter(_ a: timespec, _ b: timespec) -> Bool {
        a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec
    }

    /// Sets atime to what it is, which moves ctime to now: `relatime` then records the
    /// file's next read again. Without it a file read once after its write kept that
    /// atime for a day, however often nginx served it, and eviction went by age: a file
    /// served every second was evicted before files never read since they were made.
    /// mtime is left alone (nginx's ETag and Last-Modified).
    static func rearmReadTime(_ path: String, atime: timespec) {
        try? Files.setAccessTime(of: path, seconds: atime.tv_sec, nanoseconds: atime.tv_nsec)
    }

    /// `rearmReadTime(_:atime:)`, reading atime first (a file just written).
    static func rearmReadTime(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return }
        rearmReadTime(path, atime: status.st_atim)
    }

    /// Seconds since the entry last changed. ctime, not mtime: a rename into `.trash`
    /// updates ctime while the moved directory keeps the mtime of its last write.
    private func age(of status: stat, now: Int) -> Int {
        Self.age(since: Int(status.st_ctim.tv_sec), now: now)
    }

    /// Never negative: with multigrain timestamps (Linux 6.13 on) the kernel may stamp a
    /// file from a finer clock than the coarse one `time()` reads, so a directory made just
    /// now can be a second "in the future" (a `grace: 0` test saw one kept, once, on 6.18).
    private static func age(since changed: Int, now: Int) -> Int {
        max(0, now - changed)
    }

    /// The canonical absolute path (`realpath`), or the path itself if it does not exist.
    private static func resolved(_ path: String) -> String {
        guard let canonical = realpath(path, nil) else {
            return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        }
        defer { free(canonical) }
        return String(cString: canonical)
    }
}

/// The cache directory itself cannot be read.
public struct CachePruneError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let errno: Errno

    public var description: String { "\(path): \(errno)" }
}
