import ProgimageAPI
import GD
import WebP

/// Writes the frames of an animation into an animated GIF or WebP, converting what the
/// two containers say differently: GIF counts delays in centiseconds, WebP in
/// milliseconds; a GIF without a loop extension plays once, which WebP says as a loop
/// count of 1 (and a WebP that plays once becomes a GIF without one).
enum AnimationEncoder {
    case gif(GIFAnimationWriter)
    case webp(WebPAnimationWriter)

    /// nil for a format that cannot animate.
    init?(format: ImageFormat, canvas: ImageSize, loopCount: Int?, quality: Int?) throws(ServiceError) {
        switch format {
        case .gif:
            self = .gif(GIFAnimationWriter(loopCount: loopCount == 1 ? nil : loopCount))
        case .webp:
            do {
                self = .webp(
                    try WebPAnimationWriter(
                        width: canvas.width, height: canvas.height, loopCount: loopCount ?? 1,
                        quality: quality ?? ImageEncoder.defaultQuality(.webp)))
            } catch {
                throw ServiceError(.internalError, "encoding an animated webp failed: \(error)")
            }
        default:
            return nil
        }
    }

    func add(_ frame: consuming GDImage, durationMilliseconds: Int) throws(ServiceError) {
        do {
            switch self {
            case .gif(let writer):
                // Rounded to the nearest centisecond.
                try writer.add(frame, delayCentiseconds: (durationMilliseconds + 5) / 10)
            case .webp(let writer):
                try writer.add(rgba: frame.interleaved(alpha: true), durationMilliseconds: durationMilliseconds)
            }
        } catch {
            throw ServiceError(.internalError, "encoding an animation failed: \(error)")
        }
    }

    func finished() throws(ServiceError) -> [UInt8] {
        do {
            switch self {
            case .gif(let writer): return try writer.finished()
            case .webp(let writer): return try writer.finished()
            }
        } catch {
            throw ServiceError(.internalError, "encoding an animation failed: \(error)")
        }
    }
}
