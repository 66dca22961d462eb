/// Porter-Duff source-over in straight alpha, for one pixel: an overlay's colour at
/// `overAlpha` over a base colour at `underAlpha` (both 0…1), rounded to 8 bits. libgd's
/// images and 8-bit straight rows composite overlays with it alike.
package struct SourceOver {
    let overAlpha: Double
    let underAlpha: Double
    /// The result's alpha, 0…1.
    package let alpha: Double

    /// nil when the overlay's pixel is invisible and leaves the base as it is.
    package init?(overAlpha: Double, underAlpha: Double) {
        guard overAlpha > 0 else { return nil }
        self.overAlpha = overAlpha
        self.underAlpha = underAlpha
        alpha = overAlpha + underAlpha * (1 - overAlpha)
    }

    /// One colour channel of the result.
    @inline(__always)
    package func channel(_ top: UInt8, over bottom: UInt8) -> UInt8 {
        let value = (Double(top) * overAlpha + Double(bottom) * underAlpha * (1 - overAlpha)) / alpha
        return UInt8(max(0, min(255, value.rounded())))
    }
}
