import GD
import Testing
import WebP

@testable import ProgimageCore

/// The strip-by-strip WebP encoder against libgd's `gdImageWebpPtrEx` (one whole-image
/// `WebPEncodeRGBA`): the same bytes, opaque and translucent, at sizes whose last strip and
/// chroma row are partial, and for a translucent image whose first strips are opaque.
@Suite struct WebPStillEncoderTests {
    static func image(width: Int, height: Int, translucentFrom: Int?) throws -> GDImage {
        var generator = SeededGenerator(seed: UInt64(width * 7 + height))
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                rgba[i] = UInt8(truncatingIfNeeded: x * 5 + Int.random(in: 0..<30, using: &generator))
                rgba[i + 1] = UInt8(truncatingIfNeeded: y * 3)
                rgba[i + 2] = UInt8(truncatingIfNeeded: (x ^ y) + Int.random(in: 0..<9, using: &generator))
                if let start = translucentFrom, y >= start { rgba[i + 3] = UInt8(truncatingIfNeeded: x * 9 + y) }
            }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    @Test(arguments: [
        (64, 48, nil), (101, 37, nil), (33, 17, 0), (50, 70, 35), (1, 1, nil), (3, 2, 0), (257, 129, 100),
    ] as [(Int, Int, Int?)])
    func writesLibgdsBytes(width: Int, height: Int, translucentFrom: Int?) throws {
        let source = try Self.image(width: width, height: height, translucentFrom: translucentFrom)
        for quality in [80, 30] {
            let reference = try source.encode(.webp, quality: quality)
            let alpha = !source.isOpaque
            let ours = try WebPStillEncoder.Picture(width: width, height: height, hasAlpha: alpha) { y in
                source.interleavedRow(y, alpha: true)
            }.encoded(quality: quality)
            #expect(ours == reference, "\(width)×\(height) translucent from \(String(describing: translucentFrom)) q\(quality)")
        }
    }
}
