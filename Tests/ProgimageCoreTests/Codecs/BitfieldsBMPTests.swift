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

    /// 16-bit BI_RGB is 5-5-5 with the full range scaled, as every reader does: libgd
    /// shifted alone, and white came out 248.
    @Test func rgb555WithoutMasksScalesToTheFullRange() throws {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16 & 0xFFFF) }
        let pixels = [0x7FFF, 0x7C00, 0x03E0, 0x001F].flatMap(le16)
        let info = le32(40) + le32(4) + le32(1) + le16(1) + le16(16) + le32(0) + le32(pixels.count) + le32(2835)
            + le32(2835) + le32(0) + le32(0)
        let file = [UInt8]("BM".utf8) + le32(14 + 40 + pixels.count) + le32(0) + le32(14 + 40) + info + pixels
        let image = try ImageDecoder.decode(file, format: .bmp, maxPixels: 1 << 30)
        #expect(image.interleaved(alpha: false) == [255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    }
}
