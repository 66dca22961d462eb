import POSIX
import Testing

@testable import ProgimageCore

#if canImport(Glibc)
import Glibc
#endif

/// The cache stays under its budget, least recently used first, and the pruner never
/// disturbs what the workers rely on: lock files, files being written, originals.
@Suite struct CachePrunerTests {
    @Test func victimsAreTheLeastRecentlyUsedTiesBrokenByPath() throws {
        let cache = try TemporaryCache()
        let folder = cache.root + "/ab/cd/abcdefghijkl/resize:100x"
        let lastUses = ["new": 300, "old": 100, "mid-b": 200, "mid-a": 200]
        for (name, lastUse) in lastUses {
            try cache.write(folder + "/" + name, bytes: 4000, accessed: 1_700_000_000 + lastUse, modified: 1_700_000_000)
        }
        func kept() -> [String] { lastUses.keys.filter { TemporaryCache.diskBytes(folder + "/" + $0) != nil }.sorted() }
        let file = try #require(TemporaryCache.diskBytes(folder + "/old"))
        let total = 4 * file + TemporaryCache.folderBytes(under: cache.root)

        _ = try CachePruner(root: cache.root, maxBytes: total).prune()
        #expect(kept() == ["mid-a", "mid-b", "new", "old"])
        _ = try CachePruner(root: cache.root, maxBytes: total - file).prune()
        #expect(kept() == ["mid-a", "mid-b", "new"])
        _ = try CachePruner(root: cache.root, maxBytes: total - 2 * file).prune()
        #expect(kept() == ["mid-b", "new"])
        _ = try CachePruner(root: cache.root, maxBytes: 0).prune()
        #expect(kept().isEmpty && TemporaryCache.folderBytes(under: cache.root) == 0)
    }

    @Test func overlappingDirectoriesAreDetected() {
        #expect(CachePruner.overlaps("/var/lib/progimage", "/var/lib/progimage/"))
        #expect(CachePruner.overlaps("/var/lib/progimage/cache", "/var/lib/progimage"))
        #expect(CachePruner.overlaps("/srv", "/srv/images/data"))
        #expect(!CachePruner.overlaps("/var/cache/progimage", "/var/lib/progimage"))
        #expect(!CachePruner.overlaps("/srv/cache", "/srv/cache2"))
    }

    @Test func manyFilesEndUnderBudgetKeepingTheMostRecentlyUsed() throws {
        let cache = try TemporaryCache()
        var random = SeededGenerator(seed: 7)
        var files: [(path: String, lastUse: Int)] = []
        for index in 0..<600 {
            let id = "img\(index % 40)abcdefghijkl"
            let path = cache.root + "/\(id.prefix(2))/\(id.dropFirst(2).prefix(2))/\(id)/resize:\(index)x/\(id).webp"
            let accessed = 1_700_000_000 + Int(random.next() % 1_000_000)
            try cache.write(path, bytes: 1 + Int(random.next() % 20_000), accessed: accessed, modified: accessed - 10)
            files.append((path, accessed))
        }
        // Folders take blocks as files do (ext4: 4 KB each; tmpfs: none), and count too.
        let foldersBefore = TemporaryCache.folderBytes(under: cache.root)
        let total = files.reduce(0) { $0 + TemporaryCache.diskBytes($1.path)! } + foldersBefore
        let budget = total * 2 / 5

        let report = try CachePruner(root: cache.root, maxBytes: budget).prune()

        let kept = files.filter { TemporaryCache.diskBytes($0.path) != nil }
        let removed = files.filter { TemporaryCache.diskBytes($0.path) == nil }
        let keptBytes = kept.reduce(0) { $0 + TemporaryCache.diskBytes($1.path)! }
        let foldersAfter = TemporaryCache.folderBytes(under: cache.root)
        #expect(keptBytes + foldersAfter <= budget)
        // The pass stops at its target: at most one file (and the folders it emptied) past it.
        #expect(keptBytes + foldersAfter > budget - 20_480 - 3 * 4096, "removed more than one file beyond the budget")
        #expect(report.files == 600 && report.bytesBefore == total && report.bytesAfter == keptBytes + foldersAfter)
        #expect(report.removedFiles == removed.count && report.errors == 0)
        let newestRemoved = removed.map(\.lastUse).max()!
        let oldestKept = kept.map(\.lastUse).min()!
        #expect(newestRemoved <= oldestKept, "a file used later was deleted before one used earlier")
        // Each `resize:Nx` directory held one file: those of removed files go in the same pass.
        #expect(report.removedDirectories >= removed.count)
        #expect(TemporaryCache.emptyDirectories(under: cache.root).isEmpty, "the pass left a directory it emptied")
    }

    /// `noatime` mounts never update atime: a file rewritten recently counts as recently used.
    @Test func modificationTimeStandsInForAStaleAccessTime() throws {
        let cache = try TemporaryCache()
        let rewritten = cache.root + "/ab/cd/rewritten.jpg"
        let read = cache.root + "/ab/cd/read.jpg"
        try cache.write(rewritten, bytes: 4096, accessed: 1000, modified: 5000)
        try cache.write(read, bytes: 4096, accessed: 3000, modified: 2000)

        let folders = TemporaryCache.folderBytes(under: cache.root)
        _ = try CachePruner(root: cache.root, maxBytes: 4096 + folders).prune()

        #expect(TemporaryCache.diskBytes(rewritten) != nil)
        #expect(TemporaryCache.diskBytes(read) == nil)
    }

    @Test func workerFoldersAreLeftAloneWhileLive() throws {
        let cache = try TemporaryCache()
        let lock = cache.root + "/.locks/17"
        let writing = cache.root + "/.tmp/tmp-Ab12Cd"
        let deleting = cache.root + "/.trash/abcdefghijklmnop-XYZ/abcdefghijklmnop.png"
        let derived = cache.root + "/ab/cd/abcdefghijklmnop/abcdefghijklmnop.png"
        for path in [lock, writing, deleting, derived] {
            try cache.write(path, bytes: 100, accessed: 1000, modified: 1000)
        }

        let report = try CachePruner(root: cache.root, maxBytes: 0).prune()

        #expect(TemporaryCache.diskBytes(derived) == nil)
        #expect(TemporaryCache.diskBytes(lock) != nil && TemporaryCache.diskBytes(writing) != nil)
        #expect(TemporaryCache.diskBytes(deleting) != nil)
        #expect(report.files == 1 && report.removedLeftovers == 0)
        #expect(!Files.exists(cache.root + "/ab"), "directories emptied by the pass are removed")
        #expect(Files.exists(cache.root))
    }

    @Test func leftoversOfCrashedWritersAreRemovedButLocksNever() throws {
        let cache = try TemporaryCache()
        let lock = cache.root + "/.locks/17"
        try cache.write(lock, bytes: 0, accessed: 1000, modified: 1000)
        try cache.write(cache.root + "/.tmp/tmp-Ab12Cd", bytes: 100, accessed: 1000, modified: 1000)
        try cache.write(cache.root + "/.trash/abcdefghijklmnop-XYZ/x/y.png", bytes: 100, accessed: 1000, modified: 1000)

        let report = try CachePruner(root: cache.root, maxBytes: 1 << 30, grace: 0).prune()

        #expect(report.removedLeftovers == 2 && report.errors == 0)
        #expect(TemporaryCache.diskBytes(lock) != nil)
        #expect(!Files.exists(cache.root + "/.trash/abcdefghijklmnop-XYZ"))
        #expect(!Files.exists(cache.root + "/.tmp/tmp-Ab12Cd"))
    }

    /// A worker creates a directory, then renames its file into it: a fresh empty
    /// directory is left for the next pass, one empty for longer than the grace is removed.
    @Test func emptyDirectoriesGoOnlyAfterTheGrace() throws {
        let cache = try TemporaryCache()
        try Files.makeDirectories(cache.root + "/ab/cd/abcdefghijklmnop")

        _ = try CachePruner(root: cache.root, maxBytes: 1 << 30).prune()
        #expect(Files.exists(cache.root + "/ab/cd/abcdefghijklmnop"))

        let report = try CachePruner(root: cache.root, maxBytes: 1 << 30, grace: 0).prune()
        #expect(report.removedDirectories == 3)
        #expect(!Files.exists(cache.root + "/ab") && Files.exists(cache.root))
    }

    @Test func symbolicLinksAreNotFollowed() throws {
        let cache = try TemporaryCache()
        let outside = try TemporaryCache()
        let precious = outside.root + "/originals/ab/cd/abcdefghijklmnop.jpg"
        try outside.write(precious, bytes: 100, accessed: 1000, modified: 1000)
        try Files.makeDirectories(cache.root + "/ab")
        #expect(symlink(outside.root + "/originals", cache.root + "/ab/link") == 0)

        _ = try CachePruner(root: cache.root, maxBytes: 0, grace: 0).prune()

        #expect(TemporaryCache.diskBytes(precious) != nil)
    }

    /// A cache moved to another disk and linked back into place.
    @Test func aCacheReachedThroughALinkIsPruned() throws {
        let cache = try TemporaryCache()
        let link = try TemporaryCache()
        let derived = cache.root + "/ab/cd/abcdefghijklmnop/abcdefghijklmnop.png"
        try cache.write(derived, bytes: 100, accessed: 1000, modified: 1000)
        #expect(symlink(cache.root, link.root + "/cache") == 0)

        let report = try CachePruner(root: link.root + "/cache", maxBytes: 0).prune()

        #expect(report.removedFiles == 1 && TemporaryCache.diskBytes(derived) == nil)
    }

    @Test func aMissingCacheIsEmpty() throws {
        let report = try CachePruner(root: "/nonexistent/progimage-cache", maxBytes: 0).prune()
        #expect(report == CachePruner.Report())
    }
}

/// A `mkdtemp` directory removed when the value goes away.
final class TemporaryCache {
    let root: String

    init() throws {
        var template = Array("/tmp/progimage-prune-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemCallError("mkdtemp", path: "/tmp")
        }
        root = String(cString: made)
    }

    deinit { Files.removeTree(root) }

    /// A file of `bytes` bytes with the given access and modification times (seconds).
    func write(_ path: String, bytes: Int, accessed: Int, modified: Int) throws {
        try Files.writeAtomically([UInt8](repeating: 0x5A, count: bytes), to: path, temporaryDirectory: root + "/.tmp", durable: false)
        var times = [timespec(tv_sec: accessed, tv_nsec: 0), timespec(tv_sec: modified, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw SystemCallError("utimensat", path: path)
        }
    }

    /// Directories below `root` (the cache's own folders aside) with nothing in them.
    static func emptyDirectories(under root: String, depth: Int = 0) -> [String] {
        (Files.entries(in: root) ?? []).filter { $0.isDirectory && (depth > 0 || !$0.name.hasPrefix(".")) }.flatMap {
            let path = root + "/" + $0.name
            let below = emptyDirectories(under: path, depth: depth + 1)
            return Files.entries(in: path)?.isEmpty == true ? below + [path] : below
        }
    }

    /// The blocks of every folder below `root` (not its own), the cache's own folders aside.
    static func folderBytes(under root: String, depth: Int = 0) -> Int {
        var total = 0
        for entry in Files.entries(in: root) ?? [] where entry.isDirectory && (depth > 0 || !entry.name.hasPrefix(".")) {
            total += (diskBytes(root + "/" + entry.name) ?? 0) + folderBytes(under: root + "/" + entry.name, depth: depth + 1)
        }
        return total
    }

    /// Space the file takes on disk, as `du` counts it; nil if it is gone.
    static func diskBytes(_ path: String) -> Int? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return Int(status.st_blocks) * 512
    }
}

