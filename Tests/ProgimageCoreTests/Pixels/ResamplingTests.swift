import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Downscaling must not alias: one-pixel black/white stripes reduced by a non-integer
/// factor have to come out close to even grey (measured with libgd 2.3.3: its BILINEAR_FIXED
/// left a std-dev of 127 here). Any triangle filter leaks at Nyquist for small
/// reductions (both paths give ~30 at 1.33×), so the bar there is "no worse than libgd".
@Suite struct ResamplingTests {
    static func stripes(width: Int, height: Int, alpha: UInt8) throws -> GDImage {
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let value: UInt8 = x % 2 == 0 ? 0 : 255
                let i = (y * width + x) * 4
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (value, value, value, alpha)
            }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    static func spread(_ image: borrowing GDImage) -> (mean: Double, deviation: Double) {
        let values = image.interleaved(alpha: false).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }

    /// Measured: std-dev 1.2/0.9/8.1/1.3/30.0 for the opaque (tent) path against
    /// 2.1/1.8/8.5/2.1/30.0 for libgd's path, at 1000 → 140/260/333/520/751.
    @Test(arguments: [(1000, 140, 3.0), (1000, 260, 3.0), (1000, 333, 10.0), (1000, 520, 3.0), (1000, 751, 32.0)])
    func stripesAverageToGrey(source: Int, target: Int, bound: Double) throws {
        let opaque = try Self.stripes(width: source, height: 8, alpha: 255).scaled(width: target, height: 8)
        let (mean, tent) = Self.spread(opaque)
        // alpha 250 keeps a little transparency, which sends the image down libgd's path.
        let gd = Self.spread(try Self.stripes(width: source, height: 8, alpha: 250).scaled(width: target, height: 8)).deviation
        #expect(abs(mean - 127.5) < 3, "mean \(mean)")
        #expect(tent < bound, "\(source)→\(target): std-dev \(tent)")
        #expect(tent <= gd + 0.5, "\(source)→\(target): tent \(tent) vs libgd \(gd)")
    }

    /// Images with transparency take libgd's filter after an exact area average.
    @Test func translucentStripesStayCloseToGrey() throws {
        let scaled = try Self.stripes(width: 1000, height: 8, alpha: 200).scaled(width: 333, height: 8)
        #expect(Self.spread(scaled).deviation < 9)
    }

    @Test func exactSizesAndUpscaleStillWork() throws {
        let image = try Self.stripes(width: 10, height: 6, alpha: 255)
        let up = try image.scaled(width: 25, height: 15)
        #expect(up.width == 25 && up.height == 15)
        let down = try up.scaled(width: 1, height: 1)
        #expect(down.width == 1 && down.height == 1)
    }

    /// A PNG's RGB rows scaled without the full-size libgd image give exactly the pixels of
    /// that image scaled: reductions the tent does alone, ones `scaled` area pre-shrinks
    /// first (≥ 4×), one side unchanged, and odd sizes.
    @Test(arguments: [(1920, 1200, 512, 320), (301, 203, 100, 90), (640, 480, 640, 240), (1000, 700, 200, 140), (97, 61, 96, 60)])
    func rgbRowsScaleAsTheirImageDoes(width: Int, height: Int, toWidth: Int, toHeight: Int) throws {
        var generator = SeededGenerator(seed: UInt64(width + height))
        let rgb = (0..<width * height * 3).map { i in UInt8(truncatingIfNeeded: i / 3 % width + Int.random(in: 0..<60, using: &generator)) }
        let direct = try GDImage.scaled(rgb: rgb, width: width, height: height, toWidth: toWidth, toHeight: toHeight)
        let reference = try GDImage(width: width, height: height, pixels: rgb, stride: width * 3, layout: .rgb)
            .scaled(width: toWidth, height: toHeight)
        #expect(direct.width == toWidth && direct.height == toHeight)
        #expect(direct.interleaved(alpha: false) == reference.interleaved(alpha: false), "\(width)×\(height) → \(toWidth)×\(toHeight)")
    }
}
