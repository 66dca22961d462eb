import GD

extension GDImage {
    /// Makes an image stored with EXIF `orientation` upright: every derived image and the
    /// reported size are of the displayed image, as a browser would show it.
    consuming func oriented(_ orientation: ExifOrientation) throws(ServiceError) -> GDImage {
        switch orientation {
        case .up: return self
        case .upMirrored: return flipped(horizontally: true, vertically: false)
        case .down: return try rotated(clockwise: 180)
        case .downMirrored: return flipped(horizontally: false, vertically: true)
        case .leftMirrored: return try rotated(clockwise: 90).flipped(horizontally: true, vertically: false)
        case .right: return try rotated(clockwise: 90)
        case .rightMirrored: return try rotated(clockwise: 90).flipped(horizontally: false, vertically: true)
        case .left: return try rotated(clockwise: 270)
        }
    }

    /// Exact quarter turns; no background is ever visible.
    consuming func rotated(clockwise degrees: Int) throws(ServiceError) -> GDImage {
        do {
            return try rotated(clockwise: degrees, background: 0x7F00_0000)
        } catch {
            throw ServiceError(.internalError, "rotation failed: \(error)")
        }
    }
}

import ProgimageAPI
