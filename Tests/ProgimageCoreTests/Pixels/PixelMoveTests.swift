import GD
import Testing

/// The pixel steps that replace libgd's per-pixel loops: quarter turns (a tiled transpose,
/// so sizes that are not whole tiles and one-pixel-wide images matter) and grayscale.
@Suite struct PixelMoveTests {
    /// Every pixel distinct (and some translucent), so a misplaced one cannot hide.
    static func numbered(width: Int, height: Int) throws -> GDImage {
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (UInt8(x & 0xFF), UInt8(y & 0xFF), UInt8((x + y) & 0xFF), (x + y) % 3 == 0 ? 128 : 255)
            }
        }
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    @Test(arguments: [(70, 45), (32, 64), (1, 5), (5, 1), (33, 33)])
    func quarterTurnsMoveEveryPixel(width: Int, height: Int) throws {
        for degrees in [90, 180, 270] {
            let original = try Self.numbered(width: width, height: height)
            let turned = try Self.numbered(width: width, height: height).rotated(clockwise: degrees, background: 0)
            let (turnedWidth, turnedHeight) = (turned.width, turned.height)
            #expect((turnedWidth, turnedHeight) == (degrees == 180 ? (width, height) : (height, width)))
            var misplaced = 0
            for y in 0..<height {
                for x in 0..<width {
                    let (tx, ty) =
                        switch degrees {
                        case 90: (height - 1 - y, x)
                        case 180: (width - 1 - x, height - 1 - y)
                        default: (y, width - 1 - x)
                        }
                    if turned.pixel(x: tx, y: ty) != original.pixel(x: x, y: y) { misplaced += 1 }
                }
            }
            #expect(misplaced == 0, "\(width)×\(height) turned \(degrees)°: \(misplaced) pixels misplaced")
        }
    }

    /// Rec. 601 luma, rounded; alpha untouched.
    @Test func grayscaleIsRoundedLumaWithAlphaKept() throws {
        let colours: [(r: UInt8, g: UInt8, b: UInt8, a: UInt8, luma: UInt32)] = [
            (255, 0, 0, 255, 76), (0, 255, 0, 255, 150), (0, 0, 255, 128, 29), (255, 255, 255, 255, 255),
            (0, 0, 0, 0, 0), (10, 200, 30, 255, 124),
        ]
        let rgba = colours.flatMap { [$0.r, $0.g, $0.b, $0.a] }
        let gray = try GDImage(width: colours.count, height: 1, pixels: rgba, stride: rgba.count, layout: .rgba)
            .grayscaled()
        for (x, c) in colours.enumerated() {
            let expectedAlpha = UInt32(127 - Int(c.a) / 2) << 24 // gd's 7-bit alpha, 127 transparent
            let pixel = gray.pixel(x: x, y: 0)
            #expect(pixel & 0x00FF_FFFF == c.luma << 16 | c.luma << 8 | c.luma, "colour \(x)")
            #expect(pixel & 0x7F00_0000 == expectedAlpha, "alpha of colour \(x)")
        }
    }
}
