/// Limited ("video") range: luma 16–235 stands for black to white.
enum LimitedRange {
    /// 16–235 → 0–255, rounded and clamped.
    private static let expansion: [UInt8] = (0...255).map { (value: Int) -> UInt8 in
        let expanded: Int = ((value - 16) * 255 + 109) / 219
        return UInt8(clamping: expanded)
    }

    /// Expands limited-range grey, already replicated into R, G and B, to 0–255 (alpha
    /// left alone). For monochrome HEIF/AVIF, which libheif 1.15 hands over unexpanded:
    /// the corpus's monochrome fox came out 12–239, Pillow's newer libheif gives 0–255
    /// like the colour file of the same picture.
    static func expandGrey(_ bytes: inout [UInt8], width: Int, height: Int, stride: Int, hasAlpha: Bool) {
        let channels = hasAlpha ? 4 : 3
        for y in 0..<height {
            for x in 0..<width {
                let at = y * stride + x * channels
                for channel in 0..<3 { bytes[at + channel] = expansion[Int(bytes[at + channel])] }
            }
        }
    }
}
