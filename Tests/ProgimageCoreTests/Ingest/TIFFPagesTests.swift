import Testing

import ProgimageAPI
@testable import ProgimageCore

/// The pages after a TIFF's first, which no output shows, read at upload: a file cut
/// short after its first page is refused, and nothing a mutated file holds crashes the
/// walk or makes it answer differently twice.
@Suite struct TIFFPagesTests {
    static let multiPage = Corpus.bytes("tiff/image-tiff-seq/seq-1c-8b-multipage-adeefdcc.tiff")

    static func outcome(_ bytes: [UInt8]) -> ErrorCode? {
        do {
            try ImageIngest.checkLaterPages(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func wholeFileIsAccepted() {
        #expect(Self.multiPage.count == 1262)
        #expect(Self.outcome(Self.multiPage) == nil)
    }

    /// Every cut past the first page's pixels (which the decode itself refuses) is refused:
    /// in a later directory, in a later page's pixels, in the last pointer.
    @Test func everyCutAfterTheFirstPageIsRefused() {
        let firstPageEnds = 426  // its directory; its pixels are at 8..<264
        for end in firstPageEnds..<Self.multiPage.count {
            #expect(Self.outcome(Array(Self.multiPage.prefix(end))) == .corruptImage, "cut at \(end)")
        }
    }

    @Test func mutatedFilesAnswerTheSameTwice() {
        var rng = SeededGenerator(seed: 0x7_1FF)
        var accepted = 0
        for _ in 0..<400 {
            var bytes = Self.multiPage
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 8..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let first = Self.outcome(bytes)
            #expect(first == Self.outcome(bytes))
            if first == nil { accepted += 1 }
        }
        // Mutations in the pixels leave the structure whole: some files must pass.
        #expect(accepted > 40)
    }
}
