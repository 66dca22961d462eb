import ProgimageAPI
import GD

/// `overlay` on 8-bit straight rows: `SourceOver`, as `GDImage.composited` uses it, with
/// both images' alpha in 8 bits (libgd's path held both in 7).
extension StraightRGBA {
    /// `top` composited over these rows where `overlay`'s gravity puts it, its opacity
    /// scaled by `overlay.opacity`; larger than these rows, it is first shrunk to fit inside
    /// them (`fitted`).
    func overlaid(by overlay: OverlayOperation, top: StraightRGBA) throws(ServiceError) -> StraightRGBA {
        let top = try top.fitted(inside: ImageSize(width: width, height: height))
        let origin = CompassAnchor.origin(overlay.gravity.rawValue, spareX: width - top.width, spareY: height - top.height)
        let weight = max(0, min(1, overlay.opacity))
        var out = self
        out.pixels.withUnsafeMutableBufferPointer { base in
            top.pixels.withUnsafeBufferPointer { over in
                for row in 0..<top.height {
                    for column in 0..<top.width {
                        let t = (row * top.width + column) * 4
                        let b = ((origin.y + row) * width + origin.x + column) * 4
                        guard let blend = SourceOver(
                            overAlpha: Double(over[t + 3]) / 255 * weight, underAlpha: Double(base[b + 3]) / 255)
                        else { continue }
                        for channel in 0..<3 { base[b + channel] = blend.channel(over[t + channel], over: base[b + channel]) }
                        base[b + 3] = UInt8(max(0, min(255, (blend.alpha * 255).rounded())))
                    }
                }
            }
        }
        return out
    }

    /// An overlay larger than the image it goes on, shrunk to fit inside it keeping its
    /// aspect ratio; any other as it is.
    func fitted(inside box: ImageSize) throws(ServiceError) -> StraightRGBA {
        guard width > box.width || height > box.height else { return self }
        let scale = min(Double(box.width) / Double(width), Double(box.height) / Double(height))
        return try resampled(width: ResizeOperation.scaled(width, scale), height: ResizeOperation.scaled(height, scale))
    }
}
