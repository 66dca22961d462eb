import ProgimageAPI
import GD
import WebP

/// Writes the frames of an animation into an animated GIF or WebP, converting what the
/// two containers say differently: GIF counts delays in centiseconds, WebP in
/// milliseconds; a GIF without a loop extension plays once, which WebP says with a loop
/// count of 1, and a WebP that plays once becomes a GIF without one. Other loop counts
/// cross as the numbers they are, as Pillow and ImageMagick carry them (browsers play a
/// GIF's count n one time more than a WebP's).
enum AnimationEncoder {
    case gif(GIFAnimationWriter)
    case webp(WebPAnimationWriter)

    /// nil for a format that cannot animate.
    init?(format: ImageFormat, canvas: ImageSize, loopCount: Int?, playsOnce: Bool, quality: Int?) throws(ServiceError) {
        switch format {
        case .gif:
            self = .gif(GIFAnimationWriter(loopCount: playsOnce ? nil : loopCount))
        case .webp:
            do {
                self = .webp(
                    try WebPAnimationWriter(
                        width: canvas.width, height: canvas.height, loopCount: playsOnce ? 1 : loopCount ?? 1,
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
                try writer.add(frame, delayCentiseconds: Self.centiseconds(durationMilliseconds))
            case .webp(let writer):
                try writer.add(rgba: frame.interleaved(alpha: true), durationMilliseconds: durationMilliseconds)
            }
        } catch {
            throw ServiceError(.internalError, "encoding an animation failed: \(error)")
        }
    }

    /// A frame as 8-bit straight rows (an animation with alpha): WebP takes them as they
    /// are; GIF, whose transparency is all or nothing, as libgd's.
    func add(_ frame: consuming StraightRGBA, durationMilliseconds: Int) throws(ServiceError) {
        guard case .webp(let writer) = self else {
            return try add(frame.libgdImage(), durationMilliseconds: durationMilliseconds)
        }
        do {
            try writer.add(rgba: frame.pixels, durationMilliseconds: durationMilliseconds)
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

    /// The nearest centisecond, except that 11–14 ms become 2 rather than 1: browsers show a
    /// GIF delay of 1 cs or less as 100 ms (and a WebP's of 10 ms or less), so a fast
    /// WebP frame would have turned seven times slower.
    static func centiseconds(_ milliseconds: Int) -> Int {
        let rounded = (milliseconds + 5) / 10
        return milliseconds > 10 ? max(2, rounded) : rounded
    }
}
