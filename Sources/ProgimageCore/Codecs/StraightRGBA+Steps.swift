import ProgimageAPI
import GD

/// Every operation, done on the 8-bit rows themselves, so that a chain keeps every alpha
/// level as a plain conversion does: those that only move pixels (crop, flip, quarter
/// turns), add borders (`pad`) or map each pixel's colour alone (`grayscale`), those that
/// filter (`resize`, `blur`, `sharpen`: `PremultipliedConvolution`; `rotate` by other
/// angles) and `overlay` (its image as such rows too: `OverlaySource.rows`). The switch is
/// exhaustive: an operation added without its step here does not compile. Through libgd,
/// `flip:v.png` of a translucent image moved half of its alpha levels by one, a border of
/// `ff000080` came out with alpha 129, and a 256-level alpha ramp resized came back with
/// 128 levels.
extension StraightRGBA {
    /// Whether every operation of the chain moves pixels, adds borders or maps colours:
    /// what is as cheap on these rows as on libgd's, from any source.
    static func canMove(_ operations: [any ImageOperation]) -> Bool {
        operations.allSatisfy { operation in
            switch operation.kind {
            case .crop, .flip, .pad, .grayscale: true
            case .rotate(let rotate): rotate.degrees % 90 == 0
            default: false
            }
        }
    }

    /// Whether libgd's path makes of an opaque image what these rows would, in alpha: every
    /// operation but rotation by other angles (its edges blend with transparent corners)
    /// and `overlay` (the overlay's alpha), with borders fully opaque or fully transparent,
    /// and no resize, blur or sharpen after a transparent one (it would blend the border
    /// into translucent pixels, which libgd holds in 7 bits).
    static func libgdKeepsAlphaOfOpaque(_ operations: [any ImageOperation]) -> Bool {
        var bordered = false
        for operation in operations {
            // A border's alpha (no colour: transparent where the output has alpha).
            var borderAlpha: UInt8?
            switch operation.kind {
            case .resize(let resize):
                if bordered { return false }
                if resize.mode == .pad { borderAlpha = resize.padColour?.alpha ?? 0 }
            case .blur, .sharpen:
                if bordered { return false }
            case .pad(let pad): borderAlpha = pad.colour?.alpha ?? 0
            case .rotate(let rotate): guard rotate.degrees % 90 == 0 else { return false }
            case .overlay: return false
            case .crop, .flip, .grayscale: break
            }
            guard let alpha = borderAlpha else { continue }
            guard alpha == 0 || alpha == 255 else { return false }
            if alpha == 0 { bordered = true }
        }
        return true
    }

    /// Whether a border of the chain is translucent: libgd cannot hold its alpha, even
    /// around an opaque image.
    static func hasTranslucentBorder(_ operations: [any ImageOperation]) -> Bool {
        operations.contains { operation in
            guard let alpha = (operation as? PadOperation)?.colour?.alpha else { return false }
            return alpha != 0 && alpha != 255
        }
    }

    /// The rows after `operations`: for the moves the same pixels libgd's path places
    /// there, for the rest its pixels within a level (on opaque rows), alpha in 8 bits.
    /// `isAbandoned` is asked before each operation, as the libgd path asks it. `frames`: for
    /// the frames of an animation, what they share (a smart fill's window).
    func applying(
        _ operations: [any ImageOperation], overlays: OverlaySource = .none, frames: FrameConsistency? = nil,
        isAbandoned: () -> Bool = { false }
    ) throws(ServiceError) -> StraightRGBA {
        var image = self
        for (step, operation) in operations.enumerated() {
            if isAbandoned() { throw ServiceError.abandoned }
            switch operation.kind {
            case .resize(let resize):
                image = try image.resized(by: resize) { choose in frames?.window(forStep: step, choosing: choose) ?? choose() }
            case .blur(let blur):
                image = try image.blurred(sigma: max(0.1, blur.sigma))
            case .sharpen(let sharpen):
                image = try image.sharpened(amount: sharpen.amount / 20)
            case .overlay(let overlay):
                image = try image.overlaid(by: overlay, top: overlays.rows(overlay.image))
            case .crop(let crop):
                let region = try crop.clipped(to: ImageSize(width: image.width, height: image.height))
                image = image.window(x: region.x, y: region.y, width: region.width, height: region.height)
            case .flip(let flip):
                image = image.flipped(horizontally: flip.horizontal, vertically: flip.vertical)
            case .rotate(let rotate):
                let degrees = ((rotate.degrees % 360) + 360) % 360
                image = degrees % 90 == 0 ? image.quarterTurned(clockwise: degrees) : try image.rotated(by: rotate)
            case .pad(let pad):
                image = image.bordered(by: pad)
            case .grayscale:
                image.grayscale()
            }
        }
        return image
    }

    /// Mirrored in place of libgd's `gdImageFlip*`.
    func flipped(horizontally: Bool, vertically: Bool) -> StraightRGBA {
        guard horizontally || vertically else { return self }
        let (w, h) = (width, height)
        return remapped(width: w, height: h) { x, y in (horizontally ? w - 1 - x : x, vertically ? h - 1 - y : y) }
    }

    /// Turned clockwise by 0, 90, 180 or 270 degrees.
    func quarterTurned(clockwise degrees: Int) -> StraightRGBA {
        let (w, h) = (width, height)
        switch degrees {
        case 90: return remapped(width: h, height: w) { x, y in (y, h - 1 - x) }
        case 180: return remapped(width: w, height: h) { x, y in (w - 1 - x, h - 1 - y) }
        case 270: return remapped(width: h, height: w) { x, y in (w - 1 - y, x) }
        default: return self
        }
    }

    /// Upright from EXIF `orientation`, as `GDImage.oriented` makes libgd's rows.
    func oriented(_ orientation: ExifOrientation) -> StraightRGBA {
        switch orientation {
        case .up: self
        case .upMirrored: flipped(horizontally: true, vertically: false)
        case .down: quarterTurned(clockwise: 180)
        case .downMirrored: flipped(horizontally: false, vertically: true)
        case .leftMirrored: quarterTurned(clockwise: 90).flipped(horizontally: true, vertically: false)
        case .right: quarterTurned(clockwise: 90)
        case .rightMirrored: quarterTurned(clockwise: 90).flipped(horizontally: false, vertically: true)
        case .left: quarterTurned(clockwise: 270)
        }
    }

    /// Each colour replaced by its luma, alpha kept: `GDImage.grayscaled`'s weights and
    /// rounding, so an opaque image gets the same bytes either way.
    private mutating func grayscale() {
        pixels.withUnsafeMutableBufferPointer { buffer in
            for i in stride(from: 0, to: buffer.count, by: 4) {
                let luma = UInt8(GDImage.luma(red: buffer[i], green: buffer[i + 1], blue: buffer[i + 2]))
                (buffer[i], buffer[i + 1], buffer[i + 2]) = (luma, luma, luma)
            }
        }
    }

    /// This image inside `pad`'s borders: without a colour transparent, as libgd's path
    /// makes them where the output keeps alpha (and a flattened output shows white).
    func bordered(by pad: PadOperation) -> StraightRGBA {
        let colour: [UInt8] = pad.colour.map { [$0.red, $0.green, $0.blue, $0.alpha] } ?? [0, 0, 0, 0]
        return bordered(top: pad.top, right: pad.right, bottom: pad.bottom, left: pad.left, colour: colour)
    }

    /// This image inside borders of `colour` (R, G, B, A).
    private func bordered(top: Int, right: Int, bottom: Int, left: Int, colour: [UInt8]) -> StraightRGBA {
        let (outWidth, outHeight) = (width + left + right, height + top + bottom)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 4)
        out.withUnsafeMutableBufferPointer { to in
            for i in stride(from: 0, to: to.count, by: 4) {
                (to[i], to[i + 1], to[i + 2], to[i + 3]) = (colour[0], colour[1], colour[2], colour[3])
            }
            pixels.withUnsafeBufferPointer { from in
                for y in 0..<height {
                    let target = ((y + top) * outWidth + left) * 4
                    (to.baseAddress! + target).update(from: from.baseAddress! + y * width * 4, count: width * 4)
                }
            }
        }
        return StraightRGBA(pixels: out, width: outWidth, height: outHeight)
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
