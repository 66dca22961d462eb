import GD
import Testing

/// Images with transparency are filtered premultiplied: the colour of invisible pixels
/// must not reach visible ones. libgd's blur, scaling and rotation treat alpha as a fourth
/// independent channel, so a white logo on a transparent (black) background came out
/// with a grey fringe.
@Suite struct TransparentEdgeTests {
    /// RGBA rows: a white opaque square of `inner` in a transparent black field of `size`.
    static func logo(size: Int, inner: Int) throws -> GDImage {
        var rgba = [UInt8](repeating: 0, count: size * size * 4)
        let start = (size - inner) / 2
        for y in start..<(start + inner) {
            for x in start..<(start + inner) {
                let i = (y * size + x) * 4
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (255, 255, 255, 255)
            }
        }
        return try GDImage(width: size, height: size, pixels: rgba, stride: size * 4, layout: .rgba)
    }

    /// How many pixels are visible at all, the darkest colour channel among them, and
    /// how much darker than white the darkest one looks over white (`(255 − c) · α`, in
    /// levels), which is what a fringe costs on a page. libgd's 7-bit alpha leaves nearly
    /// invisible pixels a coarse colour that cannot show, and its fixed-point filters
    /// lose ~3 levels even on opaque white (255 → 252), bicubic rings a little: a few
    /// levels remain, where independent channels showed 38–60.
    static func visible(_ image: borrowing GDImage) -> (count: Int, darkest: UInt8, shows: Double) {
        let rgba = image.interleaved(alpha: true)
        var count = 0
        var darkest: UInt8 = 255
        var shows = 0.0
        for i in stride(from: 0, to: rgba.count, by: 4) where rgba[i + 3] >= 8 {
            count += 1
            let channel = min(rgba[i], rgba[i + 1], rgba[i + 2])
            darkest = min(darkest, channel)
            shows = max(shows, Double(255 - channel) * Double(rgba[i + 3]) / 255)
        }
        return (count, darkest, shows)
    }

    @Test(arguments: [0.8, 3.0, 12.0])
    func blurLeavesNoDarkFringe(sigma: Double) throws {
        let (count, darkest, _) = Self.visible(try Self.logo(size: 64, inner: 24).blurred(sigma: sigma))
        #expect(count > 24 * 24, "the blur spreads the square's opacity outwards")
        #expect(darkest >= 250, "σ \(sigma): a visible pixel came out \(darkest)")
    }

    /// libgd's path for images with alpha: area average, then its triangle (down) or
    /// bicubic (up) filter.
    @Test(arguments: [(48, 48), (20, 20), (100, 100), (64, 30)])
    func scalingLeavesNoDarkFringe(width: Int, height: Int) throws {
        let (count, darkest, shows) = Self.visible(try Self.logo(size: 64, inner: 24).scaled(width: width, height: height))
        #expect(count > 0)
        #expect(shows <= 8, "64 → \(width)×\(height): a pixel \(darkest) shows \(shows) levels dark over white")
    }

    @Test(arguments: [33, 45, 300])
    func rotationLeavesNoDarkFringe(degrees: Int) throws {
        let logo = try Self.visible(Self.logo(size: 64, inner: 24).rotated(clockwise: degrees, background: 0x7F00_0000))
        #expect(logo.shows <= 8, "logo by \(degrees)°: a pixel \(logo.darkest) shows \(logo.shows) levels dark")
        // An opaque white image on a transparent background: its edges fade, not darken.
        let white = try GDImage(width: 40, height: 30, pixels: [UInt8](repeating: 255, count: 40 * 30 * 4), stride: 160, layout: .rgba)
        let square = Self.visible(try white.rotated(clockwise: degrees, background: 0x7F00_0000))
        #expect(square.shows <= 8, "white by \(degrees)°: a pixel \(square.darkest) shows \(square.shows) levels dark")
    }

    /// A flat translucent colour stays that colour and that opacity, edges included.
    @Test func flatTranslucentColourStaysPut() throws {
        let (w, h) = (37, 23)
        let rgba = [UInt8]((0..<(w * h)).flatMap { _ in [200, 100, 50, 128] as [UInt8] })
        let original = try GDImage(width: w, height: h, pixels: rgba, stride: w * 4, layout: .rgba)
        let expected = Array(original.interleaved(alpha: true).prefix(4))
        let blurred = try original.blurred(sigma: 4).interleaved(alpha: true)
        for i in stride(from: 0, to: blurred.count, by: 4) {
            let pixel = Array(blurred[i..<(i + 4)])
            #expect(zip(pixel, expected).allSatisfy { abs(Int($0) - Int($1)) <= 2 }, "\(pixel) against \(expected)")
            if !zip(pixel, expected).allSatisfy({ abs(Int($0) - Int($1)) <= 2 }) { break }
        }
    }

    /// Sharpening a translucent image keeps its alpha and does not darken the visible
    /// edge towards the transparent black around it.
    @Test func sharpenKeepsAlphaAndEdges() throws {
        let image = try Self.logo(size: 48, inner: 20)
        let alphaBefore = image.interleaved(alpha: true).enumerated().filter { $0.offset % 4 == 3 }.map(\.element)
        let sharpened = try image.sharpened(amount: 2).interleaved(alpha: true)
        let alphaAfter = sharpened.enumerated().filter { $0.offset % 4 == 3 }.map(\.element)
        #expect(alphaAfter == alphaBefore)
        for i in stride(from: 0, to: sharpened.count, by: 4) where sharpened[i + 3] == 255 {
            #expect(sharpened[i] >= 250, "an opaque pixel went dark: \(sharpened[i])")
        }
    }
}
