import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// TIFF outputs through our writer (deflate, horizontal predictor, strips on two threads),
/// read back by libtiff: lossless for every layout, alpha straight, strips seamless.
@Suite struct TIFFWriterTests {
    static func image(width: Int, height: Int, grey: Bool, alpha: Bool) throws -> GDImage {
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        var state: UInt32 = 7
        for i in 0..<width * height {
            state = state &* 1_103_515_245 &+ 12345
            let v = UInt8(truncatingIfNeeded: i % width + Int(state >> 29))
            (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]) = (v, grey ? v : v &* 3, grey ? v : UInt8(i / width % 256))
            if alpha { rgba[i * 4 + 3] = UInt8(truncatingIfNeeded: i * 5) }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func everyLayoutRoundTripsExactly(grey: Bool, alpha: Bool) throws {
        // Tall enough for many strips, so two threads write them.
        let (width, height) = (301, 467)
        let tiff = try ImageEncoder.encode(Self.image(width: width, height: height, grey: grey, alpha: alpha), as: .tiff, quality: nil)
        let decoded = try ImageDecoder.decode(tiff, format: .tiff, maxPixels: 1 << 22)
        #expect(decoded.width == width && decoded.height == height)
        #expect(decoded.interleaved(alpha: true) == (try Self.image(width: width, height: height, grey: grey, alpha: alpha)).interleaved(alpha: true))
        // SamplesPerPixel (277) says what was written: 1 grey, 3 RGB, plus one for alpha.
        let samples = (grey ? 1 : 3) + (alpha ? 1 : 0)
        let entry = try #require(Self.entry(277, in: tiff))
        #expect(Int(tiff[entry + 8]) == samples)
    }

    /// Baseline TIFF 6.0's required fields are all there, in ascending order, the
    /// resolution 72/1 an inch (exiftool -validate: "Missing required TIFF IFD0 tag").
    @Test func baselineRequiredFieldsArePresent() throws {
        let tiff = try ImageEncoder.encode(Self.image(width: 5, height: 3, grey: false, alpha: false), as: .tiff, quality: nil)
        func u16(_ at: Int) -> Int { Int(tiff[at]) | Int(tiff[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        let directory = u32(4)
        let tags = (0..<u16(directory)).map { u16(directory + 2 + $0 * 12) }
        #expect(tags == tags.sorted())
        for required in [256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 296] { #expect(tags.contains(required), "\(required)") }
        for tag in [UInt16(282), 283] {
            let entry = try #require(Self.entry(tag, in: tiff))
            #expect(u16(entry + 2) == 5 && u32(entry + 4) == 1)
            let value = u32(entry + 8)
            #expect(u32(value) == 72 && u32(value + 4) == 1)
        }
        let unit = try #require(Self.entry(296, in: tiff))
        #expect(u16(unit + 8) == 2)
        // libtiff still reads it.
        #expect(try ImageDecoder.decode(tiff, format: .tiff, maxPixels: 1 << 20).width == 5)
    }

    /// The offset of tag `tag`'s entry in the first directory of a little-endian TIFF.
    static func entry(_ tag: UInt16, in tiff: [UInt8]) -> Int? {
        func u16(_ at: Int) -> Int { Int(tiff[at]) | Int(tiff[at + 1]) << 8 }
        let directory = u16(4) | u16(6) << 16
        for index in 0..<u16(directory) where u16(directory + 2 + index * 12) == Int(tag) {
            return directory + 2 + index * 12
        }
        return nil
    }
}
