import ProgimageAPI
import GD

/// `overlay` on 8-bit straight rows: `GDImage.composited`'s source-over in straight alpha,
/// with both images' alpha in 8 bits (libgd's path held both in 7).
extension StraightRGBA {
    /// `top` composited over these rows where `overlay`'s gravity puts it, its opacity
    /// scaled by `overlay.opacity`; larger than these rows, it is first shrunk to fit inside
    /// them, keeping its aspect ratio.
    func overlaid(by overlay: OverlayOperation, top: StraightRGBA) throws(ServiceError) -> StraightRGBA {
        var top = top
        if top.width > width || top.height > height {
            let scale = min(Double(width) / Double(top.width), Double(height) / Double(top.height))
            top = try top.resampled(
                width: ResizeOperation.scaled(top.width, scale), height: ResizeOperation.scaled(top.height, scale))
        }
        let origin = CompassAnchor.origin(overlay.gravity.rawValue, spareX: width - top.width, spareY: height - top.height)
        let weight = max(0, min(1, overlay.opacity))
        var out = self
        out.pixels.withUnsafeMutableBufferPointer { base in
            top.pixels.withUnsafeBufferPointer { over in
                for row in 0..<top.height {
                    for column in 0..<top.width {
                        let t = (row * top.width + column) * 4
                        let b = ((origin.y + row) * width + origin.x + column) * 4
                        let overAlpha = Double(over[t + 3]) / 255 * weight
                        guard overAlpha > 0 else { continue }
                        let underAlpha = Double(base[b + 3]) / 255
                        let alpha = overAlpha + underAlpha * (1 - overAlpha)
                        for channel in 0..<3 {
                            let value = (Double(over[t + channel]) * overAlpha + Double(base[b + channel]) * underAlpha * (1 - overAlpha)) / alpha
                            base[b + channel] = UInt8(max(0, min(255, value.rounded())))
                        }
                        base[b + 3] = UInt8(max(0, min(255, (alpha * 255).rounded())))
                    }
                }
            }
        }
        return out
    }
}
