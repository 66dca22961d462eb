internal import CGD

/// Colour and convolution steps.
extension GDImage {
    /// Rec. 601 luma: 0.299, 0.587, 0.114 in 16-bit fixed point (they sum to 65536),
    /// rounded. The one formula of `grayscale`, on libgd's rows and on 8-bit RGBA rows.
    @inlinable
    public static func luma(red: UInt8, green: UInt8, blue: UInt8) -> UInt32 {
        (19595 * UInt32(red) + 38470 * UInt32(green) + 7471 * UInt32(blue) + 32768) >> 16
    }

    /// Luminance only (Rec. 601 weights, rounded), alpha kept, in place. Not
    /// `gdImageGrayScale`: it goes through a pixel getter, doubles and a colour allocation
    /// per pixel (~64 ms for 12 MP here) and truncates, which darkens by half a level.
    public consuming func grayscaled() throws(GDError) -> GDImage {
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = UnsafeMutableRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let p = row[x]
                let luma = Self.luma(
                    red: UInt8(truncatingIfNeeded: p >> 16), green: UInt8(truncatingIfNeeded: p >> 8),
                    blue: UInt8(truncatingIfNeeded: p))
                row[x] = (p & 0x7F00_0000) | luma << 16 | luma << 8 | luma
            }
        }
        return self
    }

    /// Gaussian blur with standard deviation `sigma`; the kernel reaches 3σ, where the
    /// Gaussian has fallen to 1.1% of its peak and further taps change no 8-bit value.
    /// The fixed-point separable convolution the resampler uses; images with alpha are
    /// blurred premultiplied (`translucentGaussianBlurred`).
    public consuming func blurred(sigma: Double) throws(GDError) -> GDImage {
        isOpaque ? try opaqueGaussianBlurred(sigma: sigma) : try translucentGaussianBlurred(sigma: sigma)
    }

    /// Unsharp mask: `out = in + amount·(in − blur(in))` per colour channel, alpha kept,
    /// against a σ=1 Gaussian, the radius image services use for web-size sharpening
    /// (libgd has only a fixed 3×3 sharpen). `amount` is applied in 8.8 fixed point.
    public consuming func sharpened(amount: Double) throws(GDError) -> GDImage {
        guard min(width, height) >= 4 else { return self }
        if isOpaque, unsharpMaskedInPlace(amount: amount) { return self }
        unsharpMask(
            against: isOpaque ? try opaqueGaussianBlurred(sigma: 1) : try translucentGaussianBlurred(sigma: 1),
            amount: amount)
        return self
    }

    /// The mask against a whole blurred copy: for images with transparency (blurred
    /// premultiplied) and those too small for the symmetric kernel.
    func unsharpMask(against soft: borrowing GDImage, amount: Double) {
        let gain = Int32((amount * 256).rounded())
        let rows = cgd_rows(raw)!
        let softRows = cgd_rows(soft.raw)!
        for y in 0..<height {
            let row = rows[y]!
            let softRow = softRows[y]!
            for x in 0..<width {
                let p = row[x]
                // Fully transparent: transparent black, as every other filter leaves it (its
                // hidden colour, magnified here, bled into lossy encoders' visible edges).
                guard p & 0x7F00_0000 != 0x7F00_0000 else {
                    row[x] = 0x7F00_0000
                    continue
                }
                let b = softRow[x]
                func channel(_ shift: Int32) -> Int32 {
                    let original = (p >> shift) & 0xFF
                    let value = original + ((gain * (original - ((b >> shift) & 0xFF)) + 128) >> 8)
                    return min(255, max(0, value)) << shift
                }
                row[x] = (p & 0x7F00_0000) | channel(16) | channel(8) | channel(0)
            }
        }
    }
}
