internal import CGD

/// Colour and convolution steps.
extension GDImage {
    /// Luminance only (Rec. 601 weights), alpha kept. The corresponding C function is
    /// `gdImageGrayScale`, which works in place.
    public consuming func grayscaled() throws(GDError) -> GDImage {
        guard gdImageGrayScale(raw) != 0 else { throw .allocationFailed }
        return self
    }

    /// Gaussian blur with standard deviation `sigma`; the kernel reaches 3σ, where the
    /// Gaussian has fallen below 1.2% and further taps change no 8-bit value.
    /// The corresponding C function is `gdImageCopyGaussianBlurred` (separable, allocates).
    /// libgd reflects at the edges only once, so the radius must stay below the shorter
    /// side (a 150-px kernel on a 100-px image read out of bounds and killed the worker);
    /// at that size the result is a near-uniform average either way.
    public consuming func blurred(sigma: Double) throws(GDError) -> GDImage {
        let shorter = min(width, height)
        guard shorter >= 2 else { return self }
        let radius = Int32(max(1, min(Int((sigma * 3).rounded(.up)), shorter - 1)))
        guard let blurred = gdImageCopyGaussianBlurred(raw, radius, sigma) else { throw .allocationFailed }
        let image = GDImage(owning: blurred)
        gdImageSaveAlpha(blurred, 1)
        gdImageAlphaBlending(blurred, 0)
        return image
    }

    /// Unsharp mask: `out = in + amount·(in − blur(in))` per colour channel, alpha kept.
    /// libgd has only a fixed 3×3 sharpen, so the difference is taken here against a
    /// σ=1 Gaussian, the radius image services use for web-size sharpening.
    public consuming func sharpened(amount: Double) throws(GDError) -> GDImage {
        guard min(width, height) >= 4 else { return self }
        guard let blurred = gdImageCopyGaussianBlurred(raw, 3, 1.0) else { throw .allocationFailed }
        defer { gdImageDestroy(blurred) }
        let rows = cgd_rows(raw)!
        let blurRows = cgd_rows(blurred)!
        for y in 0..<height {
            let row = rows[y]!
            let blurRow = blurRows[y]!
            for x in 0..<width {
                let p = row[x]
                let b = blurRow[x]
                func channel(_ shift: Int32) -> Int32 {
                    let original = Double((p >> shift) & 0xFF)
                    let soft = Double((b >> shift) & 0xFF)
                    let value = (original + amount * (original - soft)).rounded()
                    return Int32(min(255, max(0, value))) << shift
                }
                row[x] = (p & 0x7F00_0000) | channel(16) | channel(8) | channel(0)
            }
        }
        return self
    }
}
