import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// PNG outputs are RGB (IHDR colour type 2) when every pixel is opaque, RGBA (6) only
/// when some pixel is not; libgd wrote every truecolor image RGBA, so a JPEG converted to
/// PNG carried an alpha channel of 255s.
@Suite struct PNGColourTypeTests {
    /// IHDR's colour type: signature (8), chunk length (4), "IHDR" (4), width, height (8),
    /// bit depth (1), then this.
    static func colourType(_ png: [UInt8]) -> UInt8 { png[25] }

    static func hasChunk(_ png: [UInt8], _ type: String) -> Bool {
        var at = 8
        while at + 8 <= png.count {
            let length = png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[at + 4..<at + 8], as: UTF8.self) == type { return true }
            at += 12 + length
        }
        return false
    }

    static func encodePNG(_ image: consuming GDImage) throws -> [UInt8] {
        try ImageEncoder.encode(image, as: .png, quality: nil)
    }

    @Test func opaqueImageIsWrittenRGB() throws {
        let opaque = try EncoderRoundTripTests.gradient(width: 31, height: 7, alpha: false)
        let png = try Self.encodePNG(opaque)
        #expect(Self.colourType(png) == 2)
        let decoded = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 20)
        let original = try EncoderRoundTripTests.gradient(width: 31, height: 7, alpha: false)
        #expect(decoded.interleaved(alpha: true) == original.interleaved(alpha: true))
    }

    @Test func jpegConvertedToPNGIsRGB() throws {
        let jpeg = try ImageEncoder.encode(GDImage(width: 8, height: 8), as: .jpg, quality: nil)
        let png = try Self.encodePNG(ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 20))
        #expect(Self.colourType(png) == 2)
    }

    @Test func imageWithTransparencyIsWrittenRGBA() throws {
        let png = try Self.encodePNG(EncoderRoundTripTests.gradient(width: 31, height: 7, alpha: true))
        #expect(Self.colourType(png) == 6)
        let decoded = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 20)
        #expect(decoded.pixel(x: 0, y: 0) >> 24 == 127 && decoded.pixel(x: 30, y: 0) >> 24 == 0)
    }

    /// A GIF may declare a transparent index no pixel uses; libgd keeps it as the image's
    /// transparent colour, which its RGB writer would emit as tRNS, making every opaque
    /// pixel of that colour transparent.
    @Test func unusedGIFTransparentColourDoesNotBecomeTRNS() throws {
        let gif = GIFFixture.make(screen: (4, 2), frame: (0, 0, 4, 2), transparentIndex: GIFFixture.black) { x, _ in
            x < 2 ? GIFFixture.red : GIFFixture.green
        }
        let png = try Self.encodePNG(ImageDecoder.decode(gif, format: .gif, maxPixels: 1 << 20))
        #expect(Self.colourType(png) == 2)
        #expect(!Self.hasChunk(png, "tRNS"))
        let opaque = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 20).isOpaque
        #expect(opaque)
    }

    /// The RGB write sets libgd's flags back: the same image written again as TIFF or WebP
    /// after a PNG write has the same size and pixels. (Not the same bytes for TIFF: libtiff
    /// leaves a padding byte before the directory unwritten, and libgd's growing buffer
    /// does not clear it.)
    @Test(arguments: [ImageFormat.tiff, .webp], [false, true])
    func otherWritersAreUnaffected(format: ImageFormat, alpha: Bool) throws {
        let codec: GDCodec = format == .tiff ? .tiff : .webp
        let image = try EncoderRoundTripTests.gradient(width: 16, height: 9, alpha: alpha)
        let before = try image.encode(codec, quality: 80)
        _ = try image.encode(.png)
        let after = try image.encode(codec, quality: 80)
        #expect(after.count == before.count)
        let decodedBefore = try ImageDecoder.decode(before, format: format, maxPixels: 1 << 20)
        let decodedAfter = try ImageDecoder.decode(after, format: format, maxPixels: 1 << 20)
        #expect(decodedAfter.interleaved(alpha: true) == decodedBefore.interleaved(alpha: true))
        let opaque = decodedAfter.isOpaque
        #expect(opaque == !alpha)
    }
}
