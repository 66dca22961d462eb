import Testing
import TurboJPEG

@testable import ProgimageCore

/// How far a JPEG is shrunk on load, by its chroma sampling as its frame header gives it
/// (the pixels are tested through the service, `test_a_shrunk_jpeg_keeps_its_chroma`).
@Suite struct JPEGChromaSamplingTests {
    @Test(arguments: [
        (TurboJPEGEncoder.Subsampling.s444, 8), (.s420, 8), (.grey, 8), (.s422, 2),
    ])
    func encodedSampling(subsampling: TurboJPEGEncoder.Subsampling, shrink: Int) throws {
        let jpeg = try JPEGRegionDecodeTests.noisyJPEG(width: 64, height: 48, subsampling: subsampling)
        #expect(JPEGChromaSampling.largestFaithfulShrink(jpeg) == shrink)
    }

    /// Sampling bytes written into a frame header by hand: 4:4:0 (down only) as 4:2:2,
    /// 4:1:1 (four times across) and ratios that are not whole powers of two (3×2 over
    /// 1×1; 2×1 over 3×1's) to 1/1, and a header that cannot be read leaves the decode to
    /// say what is wrong.
    @Test(arguments: [
        ([0x12, 0x11, 0x11], 2), ([0x41, 0x11, 0x11], 1), ([0x22, 0x11, 0x11], 8), ([0x21, 0x11, 0x11], 2),
        ([0x32, 0x11, 0x11], 1), ([0x31, 0x21, 0x11], 1), ([0x42, 0x21, 0x21], 8),
    ])
    func handWrittenSampling(factors: [UInt8], shrink: Int) {
        var sof: [UInt8] = [0xFF, 0xC0, 0x00, 0x11, 8, 0x00, 0x10, 0x00, 0x10, 3]
        for (index, factor) in factors.enumerated() { sof += [UInt8(index + 1), factor, 0] }
        #expect(JPEGChromaSampling.largestFaithfulShrink([0xFF, 0xD8] + sof + [0xFF, 0xDA]) == shrink)
        #expect(JPEGChromaSampling.largestFaithfulShrink([0xFF, 0xD8, 0xFF]) == 8)
    }
}
