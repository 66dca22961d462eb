import Testing

@testable import ProgimageCore

/// The codec configuration's monochrome flag, read for libheif 1.15's unexpanded
/// limited-range grey: only the corpus's monochrome AVIF has it.
@Suite struct HEIFMonochromeTests {
    @Test func onlyTheMonochromeFileIsMonochrome() {
        let heif = Corpus.entries.filter { ($0.format == "avif" || $0.format == "heif") && $0.expect == "valid" }
        #expect(heif.count > 10)
        for entry in heif {
            let expected = entry.file.hasSuffix(".monochrome.avif")
            #expect(HEIFContainer(Corpus.bytes(entry.file)).isMonochrome == expected, "\(entry.file)")
        }
    }

    @Test func notHEIFIsNotMonochrome() {
        #expect(!HEIFContainer(Array("not a heif file at all".utf8)).isMonochrome)
    }
}
