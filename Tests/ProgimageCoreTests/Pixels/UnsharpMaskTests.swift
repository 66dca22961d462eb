import GD
import Testing

/// `sharpened(amount:)` of an opaque image works in place, band by band, in two halves on
/// two threads past 1 << 18 pixels. Each pixel must be the unsharp mask against the whole
/// image's σ=1 blur, `in + (gain·(in − blur) + 128) >> 8` with gain = amount·256, clamped:
/// computed here from `blurred(sigma: 1)`. Sizes: two halves (the rows around the middle
/// read across), one part, widths that are not a multiple of the four-pixel step, and an
/// image too narrow for the symmetric kernel (the whole-copy path).
@Suite struct UnsharpMaskTests {
    static func pixels(width: Int, height: Int) -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(width * 7 + height))
        return (0..<width * height * 3).map { i in
            let x = i / 3 % width, y = i / (3 * width)
            return UInt8(truncatingIfNeeded: (x * 5 + y * 3) / 4 + Int.random(in: 0..<70, using: &generator))
        }
    }

    @Test(arguments: [(640, 430), (513, 300), (1001, 333), (9, 9), (6, 40), (1030, 1021)])
    func sharpenIsTheMaskAgainstTheWholeBlur(width: Int, height: Int) throws {
        let rgb = Self.pixels(width: width, height: height)
        for amount in [1.0, 10.0, 100.0] {
            let sharpened = try GDImage(width: width, height: height, pixels: rgb, stride: width * 3, layout: .rgb)
                .sharpened(amount: amount).interleaved(alpha: false)
            let soft = try GDImage(width: width, height: height, pixels: rgb, stride: width * 3, layout: .rgb)
                .blurred(sigma: 1).interleaved(alpha: false)
            let gain = Int((amount * 256).rounded())
            let expected = zip(rgb, soft).map { (original: UInt8, blurred: UInt8) -> UInt8 in
                let value: Int = Int(original) + ((gain * (Int(original) - Int(blurred)) + 128) >> 8)
                return UInt8(min(255, max(0, value)))
            }
            let wrong = zip(sharpened, expected).filter { $0 != $1 }.count
            #expect(wrong == 0, "\(width)×\(height) amount \(amount): \(wrong) bytes differ")
        }
    }
}
