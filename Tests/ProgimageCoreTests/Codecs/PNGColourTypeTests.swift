import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// PNG outputs are RGB (IHDR colour type 2) when every pixel is opaque, RGBA (6) only
/// when some pixel is not; libgd wrote every truecolor image RGBA, so a JPEG converted to
/// PNG carried an alpha channel of 255s. Grey images are written grey (0, or 4 with alpha).
/// Our writer's output is read back by libpng (through libgd), which shares no code with it.
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
        let jpeg = try ImageEncoder.encode(
            EncoderRoundTripTests.gradient(width: 8, height: 8, alpha: false), as: .jpg, quality: nil)
        let png = try Self.encodePNG(ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 20))
        #expect(Self.colourType(png) == 2)
    }

    @Test func imageWithTransparencyIsWrittenRGBA() throws {
        let png = try Self.encodePNG(EncoderRoundTripTests.gradient(width: 31, height: 7, alpha: true))
        #expect(Self.colourType(png) == 6)
        let decoded = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 20)
        #expect(decoded.pixel(x: 0, y: 0) >> 24 == 127 && decoded.pixel(x: 30, y: 0) >> 24 == 0)
    }

    /// R = G = B everywhere: one byte per pixel instead of three, the same pixels back.
    @Test(arguments: [false, true])
    func greyImageIsWrittenGrey(alpha: Bool) throws {
        var rgba = [UInt8](repeating: 0, count: 23 * 5 * 4)
        for i in 0..<23 * 5 {
            let level = UInt8(i * 255 / (23 * 5 - 1))
            rgba[i * 4] = level
            rgba[i * 4 + 1] = level
            rgba[i * 4 + 2] = level
            rgba[i * 4 + 3] = alpha ? UInt8(255 - i % 256) : 255
        }
        let grey = { () throws -> GDImage in try GDImage(width: 23, height: 5, pixels: rgba, stride: 23 * 4, layout: .rgba) }
        let png = try Self.encodePNG(grey())
        #expect(Self.colourType(png) == (alpha ? 4 : 0))
        let decoded = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 20)
        #expect(decoded.interleaved(alpha: true) == (try grey()).interleaved(alpha: true))
    }

    /// Noise exercises every row filter; past 1 MiB of rows the filtering runs in two halves
    /// on two threads, whose seam must not show.
    @Test(arguments: [(64, 48, false), (700, 420, false), (700, 420, true)])
    func everyFilterRoundTripsExactly(width: Int, height: Int, alpha: Bool) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<rgba.count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Smooth in x with noise on top, so that sub, up, average and paeth all win rows.
            let x = (i / 4) % width
            rgba[i] = UInt8(truncatingIfNeeded: x * (i % 4 + 1) + Int(state >> 61) * (i / (4 * width) % 3))
            if i % 4 == 3 { rgba[i] = alpha ? UInt8(truncatingIfNeeded: state >> 56) | 1 : 255 }
        }
        let make = { () throws -> GDImage in try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba) }
        let png = try Self.encodePNG(make())
        #expect(Self.colourType(png) == (alpha ? 6 : 2))
        let decoded = try ImageDecoder.decode(png, format: .png, maxPixels: 1 << 22)
        #expect(decoded.interleaved(alpha: true) == (try make()).interleaved(alpha: true))
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
}
