import GD
import ProgimageAPI

extension ImageDecoder {
    /// A GIF, animated or not, is its canvas (`GIFStructure.Layout.canvas`: the logical
    /// screen, enlarged to contain the first frame), the first frame at its left/top
    /// position, fully transparent elsewhere. libgd 2.3.3 returns the first frame alone at
    /// its own size, and refuses one that reaches past the screen, so such a frame is
    /// handed to it as a GIF of its own and placed back on the canvas here.
    static func decodeGIF(_ bytes: [UInt8]) throws -> GDImage {
        let layout = try GIFStructure.validate(bytes)
        guard let first = layout.frames.first else { throw ServiceError(.corruptImage, "the gif image has no frame") }
        let canvas = layout.canvas
        let decoded = try GDImage.decode(
            layout.firstFrameFitsScreen ? bytes : layout.singleFrameFile(first, of: bytes), codec: .gif)
        let position = layout.framePosition
        if position == (0, 0), decoded.width == canvas.width, decoded.height == canvas.height { return decoded }
        return try decoded.placedOnTransparentCanvas(
            width: canvas.width, height: canvas.height, x: position.x, y: position.y)
    }
}
