import Foundation
import GD
import Testing

/// The fixed-point separable convolution against the same filters computed in doubles:
/// the tent of resampling and the Gaussian of blurring. Every channel must be the exact
/// result rounded, give or take the 16-bit weights' own rounding: measured at most 0.51
/// of a level for the tents, 0.59 for a σ-50 Gaussian (301 taps a pass; 1.7 before the
/// truncation of its multiplies was compensated). Odd and tiny widths exercise the padding
/// pixel that the paired horizontal taps read, small images the edges.
@Suite struct SeparableConvolutionTests {
    static let tolerance = 0.65

    /// Each output sample's (source sample, weight) list, normalized over the samples that
    /// exist, as `FilterTaps` defines it.
    typealias Taps = [[(Int, Double)]]

    static func taps(source: Int, target: Int, support: Double, center: (Int) -> Double, weight: (Double) -> Double)
        -> Taps
    {
        (0..<target).map { i in
            let c = center(i)
            let low = max(0, Int((c - support).rounded(.down)))
            let high = min(source, Int((c + support).rounded(.up)))
            let raw = (low..<high).map { ($0, weight(Double($0) + 0.5 - c)) }
            let total = raw.reduce(0) { $0 + $1.1 }
            return raw.map { ($0.0, $0.1 / total) }
        }
    }

    static func tent(source: Int, target: Int) -> Taps {
        let scale = Double(source) / Double(target), support = max(1, scale)
        return taps(source: source, target: target, support: support, center: { (Double($0) + 0.5) * scale }) {
            max(0, 1 - abs($0) / support)
        }
    }

    static func gaussian(size: Int, sigma: Double) -> Taps {
        taps(source: size, target: size, support: max(1, 3 * sigma), center: { Double($0) + 0.5 }) {
            exp(-$0 * $0 / (2 * sigma * sigma))
        }
    }

    /// The filtered B, G, R planes of packed B,G,R,X pixels, in doubles.
    static func reference(_ bgrx: [UInt8], width: Int, height: Int, horizontal: Taps, vertical: Taps) -> [Double] {
        let toWidth = horizontal.count, toHeight = vertical.count
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

    /// Smooth gradients plus noise: both the averaging and the edges are exercised.
    static func testPixels(width: Int, height: Int) -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(width * 7919 + height))
        var bgrx = [UInt8](repeating: 0xFF, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                bgrx[i] = UInt8(x * 255 / max(1, width - 1))
                bgrx[i + 1] = UInt8(y * 255 / max(1, height - 1))
                bgrx[i + 2] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        return bgrx
    }

    /// `image` has the expected size, stays opaque, and no channel is further from the
    /// exact result than `tolerance`.
    static func expectClose(_ image: borrowing GDImage, width: Int, height: Int, to exact: [Double], _ label: String) {
        let (outWidth, outHeight, opaque) = (image.width, image.height, image.isOpaque)
        #expect(outWidth == width && outHeight == height, "\(label)")
        #expect(opaque, "\(label)")
        let rgb = image.interleaved(alpha: false)
        var worst = 0.0
        for pixel in 0..<(outWidth * outHeight) {
            for c in 0..<3 {
                // interleaved() is R,G,B; the reference keeps the source's B,G,R order.
                worst = max(worst, abs(Double(rgb[pixel * 3 + 2 - c]) - exact[pixel * 3 + c]))
            }
        }
        #expect(worst <= tolerance, "\(label): off by \(worst)")
    }

    @Test(arguments: [
        (1068, 712, 800, 533), (37, 29, 11, 7), (3, 5, 1, 2), (1, 9, 1, 4), (9, 1, 4, 1), (2, 2, 1, 1),
        (301, 17, 300, 16), (640, 480, 161, 121),
    ])
    func tentRoundsTheExactFilter(width: Int, height: Int, toWidth: Int, toHeight: Int) throws {
        let bgrx = Self.testPixels(width: width, height: height)
        let image = try GDImage.tentResampled(
            bgrx: bgrx, width: width, height: height, stride: width * 4, toWidth: toWidth, toHeight: toHeight)
        let exact = Self.reference(
            bgrx, width: width, height: height, horizontal: Self.tent(source: width, target: toWidth),
            vertical: Self.tent(source: height, target: toHeight))
        Self.expectClose(image, width: toWidth, height: toHeight, to: exact, "\(width)×\(height) → \(toWidth)×\(toHeight)")
    }

    /// Small sigmas (one tap), the common ones, and kernels wider than the image, where
    /// every tap past an edge is dropped and the rest renormalized. Where the image is
    /// wider and taller than the kernel, `GaussianConvolution`'s symmetric loops run
    /// (σ 0.3 is its narrowest, radius 1): odd widths leave one to three pixels after its
    /// four-at-a-time interior, and 33×33 at σ 5 has three interior rows.
    @Test(arguments: [
        (64, 48, 0.1), (64, 48, 0.5), (301, 17, 1.0), (97, 61, 2.0), (97, 61, 2.5), (120, 90, 8.0), (40, 30, 50.0),
        (1, 9, 3.0), (9, 1, 3.0), (700, 8, 50.0), (8, 700, 50.0), (320, 305, 50.0), (64, 48, 0.3), (203, 151, 1.0),
        (202, 37, 1.5), (201, 40, 0.8), (33, 33, 5.0),
    ])
    func gaussianRoundsTheExactFilter(width: Int, height: Int, sigma: Double) throws {
        let bgrx = Self.testPixels(width: width, height: height)
        let image = try GDImage(width: width, height: height, pixels: bgrx, stride: width * 4, layout: .bgrx)
            .blurred(sigma: sigma)
        let exact = Self.reference(
            bgrx, width: width, height: height, horizontal: Self.gaussian(size: width, sigma: sigma),
            vertical: Self.gaussian(size: height, sigma: sigma))
        Self.expectClose(image, width: width, height: height, to: exact, "\(width)×\(height) σ \(sigma)")
    }

    /// A flat field stays flat where the truncation compensation is largest (a σ-50
    /// Gaussian) and through reductions to one pixel, with thousands of taps: neither
    /// wrapping to black, nor overflowing a 16-bit lane, nor drifting dark. Before
    /// reductions past `exactReduction` were area pre-shrunk, 6000 → 1 came out 234 for white.
    @Test(arguments: [
        (320, 305, 320, 305, 50.0), (4, 6000, 1, 1, 0.0), (6000, 3, 1, 1, 0.0), (1068, 712, 1, 1, 0.0),
        (1068, 712, 8, 5, 0.0),
    ])
    func flatStaysFlat(width: Int, height: Int, toWidth: Int, toHeight: Int, sigma: Double) throws {
        for level: UInt8 in [0xFF, 0x80, 0x01] {
            let flat = [UInt8](repeating: level, count: width * height * 4)
            let image =
                sigma > 0
                ? try GDImage(width: width, height: height, pixels: flat, stride: width * 4, layout: .bgrx).blurred(sigma: sigma)
                : try GDImage.tentResampled(
                    bgrx: flat, width: width, height: height, stride: width * 4, toWidth: toWidth, toHeight: toHeight)
            let values = image.interleaved(alpha: false)
            let (darkest, lightest) = (values.min() ?? 0, values.max() ?? 0)
            #expect(
                Int(darkest) >= Int(level) - 1 && lightest <= level,
                "\(width)×\(height) → \(toWidth)×\(toHeight) σ \(sigma) at \(level): \(darkest)–\(lightest)")
        }
    }
}
