import ProgimageAPI
import GD

/// `blur` and `sharpen` of 8-bit straight rows, premultiplied in floats
/// (`PremultipliedConvolution`): libgd's translucent blur, with every alpha level kept.
extension StraightRGBA {
    /// A Gaussian blur of standard deviation `sigma`, its kernel cut at 3σ and renormalized
    /// at the edges (`GDImage.blurred`'s).
    func blurred(sigma: Double) throws(ServiceError) -> StraightRGBA {
        let convolution = PremultipliedConvolution(
            sourceWidth: width, horizontal: .gaussian(size: width, sigma: sigma), vertical: .gaussian(size: height, sigma: sigma))
        let sourceWidth = width
        return try convolved(by: convolution) { bytes, y, columns, target in
            PremultipliedConvolution.premultiplied(
                bytes + (y * sourceWidth + columns.lowerBound) * 4, count: columns.count, into: target)
        }
    }

    /// `GDImage.sharpened`'s unsharp mask: each colour moved `amount` times its distance
    /// from a σ 1 blur (blurred premultiplied), in 8.8 fixed point; alpha kept.
    func sharpened(amount: Double) throws(ServiceError) -> StraightRGBA {
        guard min(width, height) >= 4 else { return self }
        // The result is written over the blurred copy: two images alive, not three (8192²
        // translucent: 1114 MB at the peak with a third).
        var out = try blurred(sigma: 1)
        let gain = Int32((amount * 256).rounded())
        out.pixels.withUnsafeMutableBufferPointer { target in
            pixels.withUnsafeBufferPointer { source in
                for i in stride(from: 0, to: target.count, by: 4) {
                    // Fully transparent: transparent black, as the blur left it
                    // (`GDImage.unsharpMask`).
                    guard source[i + 3] != 0 else {
                        target[i] = 0; target[i + 1] = 0; target[i + 2] = 0; target[i + 3] = 0
                        continue
                    }
                    for channel in i..<(i + 3) {
                        let original = Int32(source[channel])
                        let value = original + ((gain * (original - Int32(target[channel])) + 128) >> 8)
                        target[channel] = UInt8(min(255, max(0, value)))
                    }
                    target[i + 3] = source[i + 3]
                }
            }
        }
        return out
    }
}
