public import ProgimageAPI
package import GD
import WebP

/// The frames of an animated GIF or WebP as they show: each one the whole canvas, upright
/// and in sRGB, with how long it shows. Walked one at a time, so a long animation holds
/// one canvas (two for a GIF frame restored "to previous"), never all of its frames.
/// Walked by one thread (the pipeline hands it to the thread that decodes), hence
/// unchecked.
public final class AnimationFrames: @unchecked Sendable {
    /// The canvas: the displayed size, as `ImageHeader` reports it.
    public let canvas: ImageSize
    public let frameCount: Int
    /// The container's count as written (0 forever); nil for a GIF without a loop
    /// extension, which plays once.
    public let loopCount: Int?
    /// Whether it plays once: a GIF without a loop extension, a WebP whose count is 1.
    public let playsOnce: Bool
    /// What decoding every frame allocates, where frames have rectangles of their own (GIF).
    public let decodedArea: Int?
    private let source: Source
    private let maxPixels: Int

    /// The formats whose animations the service keeps.
    public static let formats: Set<ImageFormat> = [.gif, .webp]

    private enum Source {
        case gif(bytes: [UInt8], layout: GIFStructure.Layout)
        case webp(WebPAnimationReader, orientation: ExifOrientation)
    }

    /// nil for a format that does not animate here (the spec's animations are GIF and WebP).
    public init?(_ bytes: [UInt8], format: ImageFormat, maxPixels: Int) throws(ServiceError) {
        self.maxPixels = maxPixels
        switch format {
        case .gif:
            let layout = try GIFStructure.validate(bytes)
            try ImageDecoder.checkPixelLimit(layout.canvas, maxPixels: maxPixels)
            (canvas, frameCount, loopCount) = (layout.canvas, layout.frameCount, layout.loopCount)
            decodedArea = layout.frameArea
            playsOnce = layout.loopCount == nil
            source = .gif(bytes: bytes, layout: layout)
        case .webp:
            try ImageDecoder.checkPixelLimit(ImageDecoder.storedSize(of: bytes, format: .webp), maxPixels: maxPixels)
            let reader: WebPAnimationReader
            do {
                reader = try WebPAnimationReader(bytes)
            } catch .incomplete {
                throw ServiceError(.corruptImage, "the webp image is truncated")
            } catch {
                throw ServiceError(.corruptImage, "the webp animation does not decode")
            }
            let orientation = ExifOrientation.read(from: bytes, format: .webp)
            let turned = [.left, .leftMirrored, .right, .rightMirrored].contains(orientation)
            canvas = turned
                ? ImageSize(width: reader.height, height: reader.width) : ImageSize(width: reader.width, height: reader.height)
            (frameCount, loopCount) = (reader.frameCount, reader.loopCount)
            decodedArea = nil  // libwebp composites every frame on the canvas
            playsOnce = reader.loopCount == 1
            source = .webp(reader, orientation: orientation)
        default:
            return nil
        }
    }

    /// Whether the frames have alpha worth 8 bits: a WebP's that declares alpha (a GIF's
    /// transparency is all or nothing, which libgd's 7 bits hold).
    var hasEightBitAlpha: Bool {
        guard case .webp(let reader, _) = source else { return false }
        return reader.hasAlpha
    }

    /// Calls `body` with every frame of a WebP (`hasEightBitAlpha`) as 8-bit straight rows
    /// (upright, in sRGB) and its duration in milliseconds: `forEach` without libgd's 7-bit
    /// alpha.
    func forEachStraight(_ body: (StraightRGBA, _ durationMilliseconds: Int) throws(ServiceError) -> Void) throws(ServiceError) {
        guard case .webp(let reader, let orientation) = source else {
            throw ServiceError(.internalError, "only a WebP's frames come as 8-bit rows")
        }
        while let (rgba, duration) = try Self.nextFrame(of: reader) {
            var rows = StraightRGBA(pixels: rgba, width: reader.width, height: reader.height)
            SourceColor.convertRGBA(&rows.pixels, width: rows.width, height: rows.height, stride: rows.width * 4, icc: reader.iccProfile)
            try body(rows.oriented(orientation), duration)
        }
    }

    private static func nextFrame(of reader: WebPAnimationReader) throws(ServiceError) -> (rgba: [UInt8], durationMilliseconds: Int)? {
        do {
            return try reader.nextFrame()
        } catch {
            throw ServiceError(.corruptImage, "a frame of the webp animation does not decode")
        }
    }

    /// Calls `body` with every frame in order and its duration in milliseconds.
    package func forEach(_ body: (consuming GDImage, _ durationMilliseconds: Int) throws(ServiceError) -> Void) throws(ServiceError) {
        switch source {
        case .gif(let bytes, let layout):
            try GIFFrames.forEach(in: bytes, layout: layout, maxPixels: maxPixels, body)
        case .webp(let reader, let orientation):
            while case (var rgba, let duration)? = try Self.nextFrame(of: reader) {
                let frame: GDImage
                do {
                    frame = try ImageDecoder.image(
                        &rgba, width: reader.width, height: reader.height, icc: reader.iccProfile)
                } catch {
                    throw error.serviceError
                }
                try body(frame.oriented(orientation), duration)
            }
        }
    }
}
