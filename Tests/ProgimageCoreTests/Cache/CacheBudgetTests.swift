import POSIX
import Testing

@testable import ProgimageCore

/// The shared counter of the derived files' bytes, across reservations, writes and passes.
@Suite struct CacheBudgetTests {
    /// A file reserved before a pass and put in place after the pass had walked its folder:
    /// the pass set the counter to what it saw (nothing), and the cache could then take a
    /// budget's worth more (a probe saw it ~10 % over for ~5 s). The pass keeps what the
    /// live processes had pending when it began.
    @Test func aFileLandingBehindAPassStaysCounted() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-budget-XXXXXX")
        defer { Files.removeTree(root) }
        let budget = CacheBudget(root: root, maxBytes: 1_000_000)
        #expect(budget.reserve(bytes: 300_000))
        #expect(budget.adjustCounter { $0 } == 303_104 && budget.pendingEverywhere() == 303_104)
        let report = try #require(budget.evict())
        #expect(report.bytesAfter == 0)
        try Files.makeDirectories(root + "/ab/cd")
        try Files.write([UInt8](repeating: 7, count: 300_000), to: root + "/ab/cd/resize:10x.png")
        budget.landed(bytes: 300_000)
        #expect(budget.adjustCounter { $0 } == 303_104 && budget.pendingEverywhere() == 0)
        // And the next pass measures the disk again, the file's folders included.
        _ = try #require(budget.evict(downTo: 1_000_000))
        let folders = TemporaryCache.diskBytes(root + "/ab")! + TemporaryCache.diskBytes(root + "/ab/cd")!
        #expect(CacheBudget.usedBytes(inCacheAt: root) == 303_104 + folders)
    }

    /// A process that died between a reservation and its write: its pending bytes are not
    /// carried by the passes after it (they had stayed counted for good), nor a malformed
    /// entry's.
    @Test func aDeadWritersPendingBytesAreDropped() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-budget-XXXXXX")
        defer { Files.removeTree(root) }
        let budget = CacheBudget(root: root, maxBytes: 1_000_000)
        try Files.makeDirectories(root + "/.locks/pending")
        for name in ["2147483000", "x"] { try Files.write(Array("409600".utf8), to: root + "/.locks/pending/" + name) }
        _ = try #require(budget.evict())
        #expect(budget.adjustCounter { $0 } == 0)
        #expect(Files.entries(in: root + "/.locks/pending")?.isEmpty == true)
    }

    /// A reservation whose write failed gives its bytes back; the counter's two-number form
    /// of an earlier build reads as its first number.
    @Test func releasesAndEarlierForms() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-budget-XXXXXX")
        defer { Files.removeTree(root) }
        let budget = CacheBudget(root: root, maxBytes: 1_000_000)
        #expect(budget.reserve(bytes: 5000))
        budget.release(bytes: 5000)
        #expect(budget.adjustCounter { $0 } == 0 && budget.pendingEverywhere() == 0)
        try Files.write(Array("12288 4096".utf8), to: root + "/.locks/usage")
        #expect(CacheBudget.usedBytes(inCacheAt: root) == 12288)
        #expect(budget.reserve(bytes: 4096))
        #expect(budget.adjustCounter { $0 } == 16384)
    }
}
