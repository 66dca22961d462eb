import GD
import ProgimageAPI

extension ImageDecoder {
    /// A GIF, animated or not, is its canvas: the logical screen `ImageHeader` reports,
    /// the first frame at its left/top position, fully transparent elsewhere. libgd 2.3.3
    /// returns the first frame alone at its own size, so a frame smaller than the screen
    /// or offset on it lost the canvas (and the reported size disagreed with the header).
    ///
    /// A frame reaching past the screen is clipped (one entirely outside it is refused);
    /// libgd refuses those, so it is handed
    /// a copy with the frame moved inside. A frame larger than the screen on a side is
    /// still refused: libgd allocates the frame, and the pixel limit was checked against
    /// the screen only.
    static func decodeGIF(_ bytes: [UInt8]) throws -> GDImage {
        let layout = try GIFStructure.validate(bytes)
        guard let frame = layout.firstFrame else { throw ServiceError(.corruptImage, "the gif image has no frame") }
        let canvas = layout.canvas
        guard frame.width <= canvas.width, frame.height <= canvas.height else {
            throw ServiceError(.corruptImage, "the gif image's first frame is larger than its logical screen")
        }
        // Nothing of it would show: a blank canvas is not what such a file meant (Pillow
        // grows the canvas to the frame, browsers show nothing), so it is refused.
        let position = layout.framePosition
        guard position.x < canvas.width, position.y < canvas.height else {
            throw ServiceError(.corruptImage, "the gif image's first frame lies outside its logical screen")
        }
        let decoded = try GDImage.decode(
            layout.firstFrameFitsScreen ? bytes : layout.movingFirstFrameToOrigin(bytes), codec: .gif)
        if position == (0, 0), decoded.width == canvas.width, decoded.height == canvas.height { return decoded }
        return try decoded.placedOnTransparentCanvas(
            width: canvas.width, height: canvas.height, x: position.x, y: position.y)
    }
}
