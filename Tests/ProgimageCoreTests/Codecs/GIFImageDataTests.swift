import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// The upload's count of a GIF frame's pixels (`GIFImageData`) agrees with decoders on
/// whole files and catches data that stops early or holds a code no table has.
@Suite struct GIFImageDataTests {
    /// As an upload checks it: the walk's own refusal, or the pixel count's recorded problem.
    static func validated(_ bytes: [UInt8]) throws(ServiceError) {
        let layout = try GIFStructure.validate(bytes, countingPixelsUpTo: 1 << 30)
        if let problem = layout.imageDataProblem { throw ServiceError(.corruptImage, problem) }
    }

    @Test func everyValidCorpusGIFReachesItsLastPixel() throws {
        let gifs = Corpus.entries.filter { $0.format == "gif" && $0.expect == "valid" }
        #expect(gifs.count >= 10)
        for entry in gifs {
            #expect(throws: Never.self, "\(entry.file)") { try Self.validated(Corpus.bytes(entry.file)) }
        }
    }

    @Test func cutAndDamagedDataAreRefused() {
        for file in ["gif/libgd-gif-conformance/truncated_lzw.gif", "gif/libgd-gif-conformance/bad_lzw_code.gif"] {
            #expect(throws: ServiceError.self, "\(file)") { try Self.validated(Corpus.bytes(file)) }
        }
    }

    /// libgd's own encoder on noise: codes grow to 12 bits and the table is cleared again,
    /// and every pixel is counted.
    @Test func aLargeNoisyGIFCountsExactly() throws {
        var state: UInt32 = 12345
        let pixels = (0..<(300 * 200 * 4)).map { index -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return index % 4 == 3 ? 255 : UInt8(truncatingIfNeeded: state >> 24)
        }
        let image = try GDImage(width: 300, height: 200, pixels: pixels, stride: 300 * 4, layout: .rgba)
        let gif = try ImageEncoder.encode(image, as: .gif, quality: nil)
        try Self.validated(gif)
        let layout = try GIFStructure.validate(gif)
        let descriptor = layout.frames[0].descriptor
        let data = descriptor.lowerBound + 10 + ((gif[descriptor.lowerBound + 9] & 0x80) != 0
            ? 3 << (Int(gif[descriptor.lowerBound + 9] & 7) + 1) : 0) + 1
        #expect(GIFImageData.pixelCount(minimumCodeSize: Int(gif[data - 1]), subBlocks: gif, from: data, upTo: .max)
            == .pixels(300 * 200))
    }
}
