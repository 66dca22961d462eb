import ProgimageAPI
import GD

/// Plays a GIF's frames onto its canvas as browsers do: each frame drawn at its offset
/// over what the frames before it left (its transparent pixels show them), then disposed
/// as its graphic control extension says — left, cleared to transparent, or restored to
/// the canvas before it.
///
/// libgd 2.3.3 decodes only a first frame, so each frame is handed to it as a GIF of its
/// own (`GIFStructure.Layout.singleFrameFile`): the same LZW reader, palette and
/// transparency handling the still path has always used.
enum GIFFrames {
    static func forEach(
        in bytes: [UInt8], layout: GIFStructure.Layout, maxPixels: Int,
        _ body: (consuming GDImage, _ durationMilliseconds: Int) throws(ServiceError) -> Void
    ) throws(ServiceError) {
        let size = layout.canvas
        guard layout.frames.count == layout.frameCount else {
            throw ServiceError(.imageTooLarge, "the gif animation has more frames than any limit allows")
        }
        do {
            var canvas = try GDImage(width: size.width, height: size.height, transparent: true)
            for frame in layout.frames {
                let (x, y) = (frame.rect.left, frame.rect.top)
                let before = frame.disposal == 3 ? try canvas.copy() : nil
                // A frame with nothing on the canvas is not decoded (libgd would allocate it whole).
                let visible = x < size.width && y < size.height && frame.rect.width > 0 && frame.rect.height > 0
                if visible {
                    // libgd allocates the frame whole before drawing the visible part.
                    try ImageDecoder.checkPixelLimit(
                        ImageSize(width: frame.rect.width, height: frame.rect.height), maxPixels: maxPixels)
                    let pixels: GDImage
                    do {
                        pixels = try ImageDecoder.decodeGIFFrame(frame, of: bytes, layout: layout)
                    } catch {
                        throw ServiceError(.corruptImage, "a frame of the gif animation does not decode")
                    }
                    canvas.drawFrame(pixels, x: x, y: y)
                }
                try body(canvas.copy(), frame.delay * 10)
                switch frame.disposal {
                case 2: canvas.clear(x: x, y: y, width: frame.rect.width, height: frame.rect.height)
                case 3: if let before { canvas = before }
                default: break
                }
            }
        } catch let error as ServiceError {
            throw error
        } catch {
            throw (error as? GDError)?.serviceError ?? ServiceError(.internalError, "\(error)")
        }
    }
}
