import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// bmpsuite draws the same picture in every file, so the BI_BITFIELDS variants that libgd
/// rejects must decode to the pixels of the plain 24-bit one.
@Suite struct BitfieldsBMPTests {
    func pixels(_ file: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let image = try ImageDecoder.decode(Corpus.bytes(file), format: .bmp, maxPixels: 1 << 30)
        return (image.width, image.height, image.interleaved(alpha: false))
    }

    @Test func rgb32BitfieldsMatchesRGB24Exactly() throws {
        let reference = try pixels("bmp/bmpsuite/good/rgb24.bmp")
        let bitfields = try pixels("bmp/bmpsuite/good/rgb32bf.bmp")
        #expect(bitfields.width == reference.width && bitfields.height == reference.height)
        #expect(bitfields.rgb == reference.rgb)
    }

    @Test func rgb565MatchesRGB24WithinQuantization() throws {
        let reference = try pixels("bmp/bmpsuite/good/rgb24.bmp")
        let packed = try pixels("bmp/bmpsuite/good/rgb16-565.bmp")
        #expect(packed.rgb.count == reference.rgb.count)
        let worst = zip(packed.rgb, reference.rgb).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 8, "5/6-bit channels are within 8 levels of the 8-bit original")
    }
}
