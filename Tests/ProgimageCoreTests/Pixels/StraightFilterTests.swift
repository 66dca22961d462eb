import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// `resize`, `blur` and `sharpen` of images with transparency, on 8-bit straight rows in
/// premultiplied floats (`PremultipliedConvolution`): every alpha level and the colour of
/// faint pixels kept, where libgd's path had 7 bits of alpha and premultiplied in 8 bits;
/// and on opaque rows the pixels of libgd's opaque path within a level (its rotation within
/// two: see there).
@Suite struct StraightFilterTests {
    func operations(_ path: String) throws -> [any ImageOperation] {
        guard case .derived(_, let chain) = try ImageRequestPath.parse("/images/k3J9x0PqLm2vT8wZ/\(path)") else {
            throw ServiceError(.badRequest, "not a chain")
        }
        return chain.operations
    }

    /// A colour (200, 50, 20) whose alpha climbs by one level every two pixels, 0 to 255.
    static let ramp = StraightRGBA(
        pixels: (0..<4).flatMap { _ in (0..<512).flatMap { x in [200, 50, 20, UInt8(x / 2)] as [UInt8] } }, width: 512, height: 4)

    /// Halved, the tent's four taps (¼ ¾ ¾ ¼ over two levels) land each output pixel on one
    /// level exactly: alpha x at column x, all 256 of them, and the colour untouched. libgd's
    /// path gave 128 levels, and colours of alpha under 16 off by several levels.
    @Test func halvedAlphaRampKeepsEveryLevel() throws {
        let halved = try Self.ramp.applying(operations("resize:256x4,force.png"))
        #expect((halved.width, halved.height) == (256, 4))
        var wrong: [String] = []
        for x in 1..<255 {
            let i = (2 * 256 + x) * 4
            let pixel = Array(halved.pixels[i..<(i + 4)])
            if pixel != [200, 50, 20, UInt8(x)] { wrong.append("x \(x): \(pixel)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(Set(stride(from: 3, to: halved.pixels.count, by: 4).map { halved.pixels[$0] }).count == 256)
    }

    /// A flat colour so faint (alpha 6) that 8-bit premultiplied values keep 7 levels of it
    /// stays exactly that colour and alpha through a blur, a reduction and an enlargement.
    @Test(arguments: ["blur:3.png", "resize:13x7.png", "resize:90x70,force.png", "sharpen:50.png"])
    func faintColourStaysExact(path: String) throws {
        let (w, h) = (37, 23)
        let flat = StraightRGBA(pixels: (0..<(w * h)).flatMap { _ in [123, 45, 67, 6] as [UInt8] }, width: w, height: h)
        let out = try flat.applying(operations(path))
        let off = stride(from: 0, to: out.pixels.count, by: 4).filter { Array(out.pixels[$0..<($0 + 4)]) != [123, 45, 67, 6] }
        #expect(off.count == 0, "\(path): \(off.count) pixels moved, the first \(off.first.map { Array(out.pixels[$0..<($0 + 4)]) } ?? [])")
    }

    /// A flat colour stays flat where Catmull-Rom's trimmed taps start a column after its
    /// neighbour's (33, 32, 32, 34): an enlarging fill's window and a strip's first column
    /// read one pixel before their source buffer, and came out alpha 207–215 for 200.
    @Test(arguments: [
        (100, 100, "resize:200x300,fill,e.png"), (100, 100, "resize:300x300,fill,nw.png"), (300, 3000, "resize:1500x10,force.png"),
        (37, 23, "resize:1111x60,force.png"),
    ])
    func flatColourStaysFlatWhereTapsStartLater(width: Int, height: Int, path: String) throws {
        let flat = StraightRGBA(pixels: (0..<(width * height)).flatMap { _ in [10, 150, 250, 200] as [UInt8] }, width: width, height: height)
        let out = try flat.applying(operations(path))
        let off = stride(from: 0, to: out.pixels.count, by: 4).filter { Array(out.pixels[$0..<($0 + 4)]) != [10, 150, 250, 200] }
        #expect(off.count == 0, "\(path): \(off.count) pixels moved, the first \(off.first.map { Array(out.pixels[$0..<($0 + 4)]) } ?? [])")
    }

    /// Rotated, a faint flat colour keeps its colour wherever it shows, its edges fading
    /// only in alpha; inside, alpha stays 6.
    @Test func faintColourRotatesExact() throws {
        let (w, h) = (37, 23)
        let flat = StraightRGBA(pixels: (0..<(w * h)).flatMap { _ in [123, 45, 67, 6] as [UInt8] }, width: w, height: h)
        let out = try flat.applying(operations("rotate:33.png"))
        let shown = stride(from: 0, to: out.pixels.count, by: 4).filter { out.pixels[$0 + 3] > 0 }
        #expect(shown.count > w * h / 2)
        #expect(shown.allSatisfy { Array(out.pixels[$0..<($0 + 3)]) == [123, 45, 67] })
        let centre = ((out.height / 2) * out.width + out.width / 2) * 4
        #expect(Array(out.pixels[centre..<(centre + 4)]) == [123, 45, 67, 6])
    }

    /// No colour from invisible pixels: white on transparent black, scaled and blurred, shows
    /// no dark fringe over white.
    @Test(arguments: [
        "resize:48x48.png", "resize:20x20.png", "resize:100x100.png", "blur:3.png", "sharpen:100.png", "rotate:33.png",
        "rotate:300.png",
    ])
    func noDarkFringe(path: String) throws {
        let size = 64
        var pixels = [UInt8](repeating: 0, count: size * size * 4)
        for y in 20..<44 { for x in 20..<44 { pixels.replaceSubrange(((y * size + x) * 4)..<((y * size + x) * 4 + 4), with: [255, 255, 255, 255]) } }
        let out = try StraightRGBA(pixels: pixels, width: size, height: size).applying(operations(path))
        let shows = stride(from: 0, to: out.pixels.count, by: 4).map { i in
            Double(255 - Int(min(out.pixels[i], out.pixels[i + 1], out.pixels[i + 2]))) * Double(out.pixels[i + 3]) / 255
        }.max() ?? 0
        #expect(shows < 1, "\(path): a pixel shows \(shows) levels dark over white")
    }

    /// Opaque rows (an RGBA file with nothing translucent takes this path too) come out as
    /// libgd's opaque path makes them, within one level: the same taps, area pre-shrink,
    /// windows and rounding to a level.
    @Test(arguments: [
        "resize:300x.png", "resize:37x.png", "resize:2000x.png", "resize:64x900,force.png", "resize:90x90,fill.png",
        "resize:90x90,fill,se.png", "resize:90x90,fill,smart.png", "resize:120x120,pad.png", "resize:1x1.png",
        "blur:2.png", "blur:0.4.png", "sharpen:30.png", "rotate:33.png", "rotate:301.png", "rotate:1.png",
        // 121 vertical taps: made in strips of 270 columns (`PremultipliedConvolution.stripWidth`).
        "blur:20.png", "blur:20/resize:300x.png",
    ])
    func opaqueRowsMatchLibgd(path: String) throws {
        let (w, h) = (601, 401)
        var pixels = [UInt8](repeating: 255, count: w * h * 4)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 4
                pixels[i] = UInt8((x * 255) / (w - 1))
                pixels[i + 1] = UInt8((y * 255) / (h - 1))
                pixels[i + 2] = UInt8(((x / 7 + y / 5) % 2) * 200 + 20)
            }
        }
        let straight = try StraightRGBA(pixels: pixels, width: w, height: h).applying(operations(path))
        var chain = OperationChain(format: .png)
        chain.operations = try operations(path)
        let libgd = try chain.applied(
            to: GDImage(width: w, height: h, pixels: pixels, stride: w * 4, layout: .rgba), source: ImageSize(width: w, height: h),
            maximumSide: 8192)
        #expect((straight.width, straight.height) == (libgd.width, libgd.height))
        let reference = libgd.interleaved(alpha: true)
        guard path.hasPrefix("rotate") else {
            let worst = zip(straight.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "\(path): \(worst) levels from libgd's opaque path")
            return
        }
        // Inside, within 2 levels: libgd's path truncates three of its four weights to 1/256
        // and gives the fourth what is left (up to 3/256 of a 200-level step). The edges
        // blend with the transparent corners, which libgd holds in 7 bits and divides back
        // from 8-bit premultiplied colours: there, compared as they show (premultiplied),
        // within 3. A misplaced map would be ~200 off on the blocks' edges.
        var (inside, edges) = (0, 0)
        for i in stride(from: 0, to: reference.count, by: 4) {
            if straight.pixels[i + 3] == 255, reference[i + 3] == 255 {
                inside = max(inside, (i..<(i + 3)).map { abs(Int(straight.pixels[$0]) - Int(reference[$0])) }.max()!)
                continue
            }
            edges = max(edges, abs(Int(straight.pixels[i + 3]) - Int(reference[i + 3])))
            for c in i..<(i + 3) {
                let ours = Int(straight.pixels[c]) * Int(straight.pixels[i + 3]), theirs = Int(reference[c]) * Int(reference[i + 3])
                edges = max(edges, (abs(ours - theirs) + 254) / 255)
            }
        }
        #expect(inside <= 2, "\(path): \(inside) levels inside from libgd's opaque path")
        #expect(edges <= 3, "\(path): \(edges) levels at the edges from libgd's opaque path")
    }
}
