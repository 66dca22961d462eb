public import ProgimageAPI

/// The operations that only move pixels (crop, flip, quarter turns), done on the 8-bit
/// rows themselves, so that a chain of them keeps every alpha level as a plain conversion
/// does: through libgd, `flip:v.png` of a translucent image moved half of its alpha levels
/// by one.
extension StraightRGBA {
    /// Whether every operation of the chain is such a move.
    static func movesOnly(_ operations: [any ImageOperation]) -> Bool {
        operations.allSatisfy { operation in
            switch operation.kind {
            case .crop, .flip: true
            case .rotate(let rotate): rotate.degrees % 90 == 0
            default: false
            }
        }
    }

    /// The rows after `operations` (all moves: `movesOnly`), the same pixels libgd's path
    /// places there.
    func moved(by operations: [any ImageOperation]) throws(ServiceError) -> StraightRGBA {
        var image = self
        for operation in operations {
            switch operation.kind {
            case .crop(let crop):
                let region = try crop.clipped(to: ImageSize(width: image.width, height: image.height))
                image = image.remapped(width: region.width, height: region.height) { x, y in (region.x + x, region.y + y) }
            case .flip(let flip):
                let (w, h) = (image.width, image.height)
                image = image.remapped(width: w, height: h) { x, y in
                    (flip.horizontal ? w - 1 - x : x, flip.vertical ? h - 1 - y : y)
                }
            case .rotate(let rotate):
                let (w, h) = (image.width, image.height)
                switch ((rotate.degrees % 360) + 360) % 360 {
                case 90: image = image.remapped(width: h, height: w) { x, y in (y, h - 1 - x) }
                case 180: image = image.remapped(width: w, height: h) { x, y in (w - 1 - x, h - 1 - y) }
                case 270: image = image.remapped(width: h, height: w) { x, y in (w - 1 - y, x) }
                default: break
                }
            default:
                throw ServiceError(.internalError, "\(operation) is not a move of pixels")
            }
        }
        return image
    }

    /// A `width`×`height` image whose pixel (x, y) is this one's at `source(x, y)`.
    private func remapped(width: Int, height: Int, source: (Int, Int) -> (Int, Int)) -> StraightRGBA {
        var out = [UInt8](repeating: 0, count: width * height * 4)
        pixels.withUnsafeBufferPointer { from in
            out.withUnsafeMutableBufferPointer { to in
                for y in 0..<height {
                    for x in 0..<width {
                        let (sx, sy) = source(x, y)
                        let (s, t) = ((sy * self.width + sx) * 4, (y * width + x) * 4)
                        to[t] = from[s]
                        to[t + 1] = from[s + 1]
                        to[t + 2] = from[s + 2]
                        to[t + 3] = from[s + 3]
                    }
                }
            }
        }
        return StraightRGBA(pixels: out, width: width, height: height)
    }
}
