import GD
import Testing

/// The fixed-point tent resampler against the same filter computed in doubles. 8.8
/// samples and 16-bit weights keep every channel within one level of the exact result;
/// odd and tiny widths exercise the padding pixel that the paired horizontal taps read.
@Suite struct TentResamplerTests {
    /// The tent filter as `TentTaps` defines it, in doubles.
    static func reference(_ bgrx: [UInt8], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Double] {
        func taps(source: Int, target: Int) -> [[(Int, Double)]] {
            let scale = Double(source) / Double(target), support = max(1, scale)
            return (0..<target).map { i in
                let center = (Double(i) + 0.5) * scale
                let low = max(0, Int((center - support).rounded(.down)))
                let high = min(source, Int((center + support).rounded(.up)))
                let raw = (low..<high).map { ($0, max(0, 1 - abs(Double($0) + 0.5 - center) / support)) }
                let total = raw.reduce(0) { $0 + $1.1 }
                return raw.map { ($0.0, $0.1 / total) }
            }
        }
        let horizontal = taps(source: width, target: toWidth), vertical = taps(source: height, target: toHeight)
        var middle = [Double](repeating: 0, count: height * toWidth * 3)
        for y in 0..<height {
            for x in 0..<toWidth {
                for (sx, w) in horizontal[x] {
                    for c in 0..<3 { middle[(y * toWidth + x) * 3 + c] += w * Double(bgrx[(y * width + sx) * 4 + c]) }
                }
            }
        }
        var out = [Double](repeating: 0, count: toHeight * toWidth * 3)
        for y in 0..<toHeight {
            for (sy, w) in vertical[y] {
                for i in 0..<(toWidth * 3) { out[y * toWidth * 3 + i] += w * middle[sy * toWidth * 3 + i] }
            }
        }
        return out
    }

    @Test(arguments: [
        (1068, 712, 800, 533), (37, 29, 11, 7), (3, 5, 1, 2), (1, 9, 1, 4), (9, 1, 4, 1), (2, 2, 1, 1),
        (301, 17, 300, 16), (640, 480, 161, 121),
    ])
    func withinOneLevelOfTheExactFilter(width: Int, height: Int, toWidth: Int, toHeight: Int) throws {
        var generator = SeededGenerator(seed: UInt64(width * 7919 + height))
        // Smooth gradients plus noise: both the averaging and the edges are exercised.
        var bgrx = [UInt8](repeating: 0xFF, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                bgrx[i] = UInt8(x * 255 / max(1, width - 1))
                bgrx[i + 1] = UInt8(y * 255 / max(1, height - 1))
                bgrx[i + 2] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        let image = try GDImage.tentResampled(
            bgrx: bgrx, width: width, height: height, stride: width * 4, toWidth: toWidth, toHeight: toHeight)
        let (outWidth, outHeight, opaque) = (image.width, image.height, image.isOpaque)
        #expect(outWidth == toWidth && outHeight == toHeight)
        #expect(opaque)
        let rgb = image.interleaved(alpha: false)
        let exact = Self.reference(bgrx, width: width, height: height, toWidth: toWidth, toHeight: toHeight)
        var worst = 0.0
        for pixel in 0..<(toWidth * toHeight) {
            for c in 0..<3 {
                // interleaved() is R,G,B; the reference keeps the source's B,G,R order.
                worst = max(worst, abs(Double(rgb[pixel * 3 + 2 - c]) - exact[pixel * 3 + c]))
            }
        }
        #expect(worst <= 1.0, "\(width)×\(height) → \(toWidth)×\(toHeight): off by \(worst)")
    }
}
