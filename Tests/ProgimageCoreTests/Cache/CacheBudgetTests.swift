import POSIX
import Testing

@testable import ProgimageCore

/// The shared counter of the derived files' bytes, across reservations, writes and passes.
@Suite struct CacheBudgetTests {
    /// A file reserved before a pass and put in place after the pass had walked its folder:
    /// the pass set the counter to what it saw (nothing), and the cache could then take a
    /// budget's worth more (a probe saw it ~10 % over for ~5 s). The pass keeps what was
    /// pending when it began.
    @Test func aFileLandingBehindAPassStaysCounted() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-budget-XXXXXX")
        defer { Files.removeTree(root) }
        let budget = CacheBudget(root: root, maxBytes: 1_000_000)
        #expect(budget.reserve(bytes: 300_000))
        let report = try #require(budget.evict())
        #expect(report.bytesAfter == 0)
        try Files.makeDirectories(root + "/ab/cd")
        try Files.write([UInt8](repeating: 7, count: 300_000), to: root + "/ab/cd/resize:10x.png")
        budget.landed(bytes: 300_000)
        let counted = try #require(budget.adjustCounter { $0 })
        #expect(counted.used >= 300_000 && counted.pending == 0)
        // And the next pass measures the disk again.
        _ = try #require(budget.evict(downTo: 1_000_000))
        #expect(CacheBudget.usedBytes(inCacheAt: root) == 303_104)
    }

    /// A reservation whose write failed gives its bytes back, pending ones too; the counter
    /// reads the old single-number form; what a dead writer left pending is forgotten.
    @Test func releasesAndTheOldFormAndForgetting() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-budget-XXXXXX")
        defer { Files.removeTree(root) }
        let budget = CacheBudget(root: root, maxBytes: 1_000_000)
        #expect(budget.reserve(bytes: 5000))
        budget.release(bytes: 5000)
        #expect(budget.adjustCounter { $0 } == CacheBudget.Usage(used: 0, pending: 0))
        try Files.write(Array("12288".utf8), to: root + "/.locks/usage")
        #expect(CacheBudget.usedBytes(inCacheAt: root) == 12288)
        #expect(budget.reserve(bytes: 4096))
        budget.forgetPending()
        #expect(budget.adjustCounter { $0 } == CacheBudget.Usage(used: 16384, pending: 0))
    }
}
