import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Every output format, encoded and decoded back through the service's own decoders, at
/// sizes that trip encoders: 1×1, odd sides (4:2:0 chroma), and a width not divisible by 4
/// (libgd's HEIF path shears those: libgd #788).
@Suite struct EncoderRoundTripTests {
    static let sizes = [(1, 1), (3, 5), (722, 31), (64, 48)]

    static func gradient(width: Int, height: Int, alpha: Bool) throws -> GDImage {
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                rgba[i] = UInt8(x * 255 / max(1, width - 1))
                rgba[i + 1] = UInt8(y * 255 / max(1, height - 1))
                rgba[i + 2] = 128
                rgba[i + 3] = alpha && x < width / 2 ? 0 : 255
            }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    @Test(arguments: ImageFormat.allCases)
    func encodesAndDecodesAtAwkwardSizes(format: ImageFormat) throws {
        for (width, height) in Self.sizes {
            let bytes = try ImageEncoder.encode(Self.gradient(width: width, height: height, alpha: true), as: format, quality: nil)
            #expect(FormatSniffer.sniff(bytes) == format)
            let decoded = try ImageDecoder.decode(bytes, format: format, maxPixels: 1 << 30)
            #expect(decoded.width == width && decoded.height == height, "\(format) \(width)x\(height)")
        }
    }

    /// The right half is opaque mid-grey-blue; the left half is transparent and must come
    /// out white in formats without alpha.
    @Test(arguments: [ImageFormat.jpg, .bmp])
    func alphaIsCompositedOnWhite(format: ImageFormat) throws {
        let bytes = try ImageEncoder.encode(Self.gradient(width: 64, height: 48, alpha: true), as: format, quality: 95)
        let decoded = try ImageDecoder.decode(bytes, format: format, maxPixels: 1 << 30)
        let left = decoded.pixel(x: 5, y: 24)
        #expect((left >> 16) & 0xFF > 245 && (left >> 8) & 0xFF > 245 && left & 0xFF > 245)
    }

    @Test(arguments: [ImageFormat.png, .webp, .avif, .heic, .tiff])
    func alphaSurvivesWhereTheFormatHasIt(format: ImageFormat) throws {
        let bytes = try ImageEncoder.encode(Self.gradient(width: 64, height: 48, alpha: true), as: format, quality: 90)
        let decoded = try ImageDecoder.decode(bytes, format: format, maxPixels: 1 << 30)
        #expect(decoded.pixel(x: 5, y: 24) >> 24 >= 120, "left half stays transparent")
        #expect(decoded.pixel(x: 60, y: 24) >> 24 == 0, "right half stays opaque")
    }
}
