import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Same pixels, same bytes: every libgd-backed encoder and the JPEG one, twice on the
/// same image with the heap scribbled differently before each encode. libgd's own TIFF
/// buffer left the byte libtiff seeks over (to align its directory) uninitialised.
@Suite struct EncodeDeterminismTests {
    static func scribbleHeap(_ value: UInt8) {
        for size in [1 << 10, 1 << 14, 1 << 18, 1 << 22] {
            var scratch = [UInt8](repeating: value, count: size)
            scratch[size - 1] = value
            withExtendedLifetime(scratch) {}
        }
    }

    /// Odd sizes, so that strip data ends on an odd offset and libtiff must pad.
    static func image(alpha: Bool) throws -> GDImage {
        let (width, height) = (37, 23)
        var rgba: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                rgba += [UInt8(x * 6), UInt8(y * 11), UInt8((x + y) * 4), alpha ? UInt8(x * 7) : 255]
            }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    @Test(arguments: [ImageFormat.jpg, .png, .gif, .webp, .bmp, .tiff], [false, true])
    func encodingTwiceGivesTheSameBytes(format: ImageFormat, alpha: Bool) throws {
        Self.scribbleHeap(0x5A)
        let first = try ImageEncoder.encode(try Self.image(alpha: alpha), as: format, quality: nil)
        Self.scribbleHeap(0xA5)
        let second = try ImageEncoder.encode(try Self.image(alpha: alpha), as: format, quality: nil)
        let same = first == second  // compared outside #expect, which would print both files
        #expect(same)
    }
}
