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
        let decoded =
            layout.firstFrameFitsScreen && !first.interlaced
            ? try GDImage.decode(bytes, codec: .gif) : try decodeGIFFrame(first, of: bytes, layout: layout)
        let position = layout.framePosition
        if position == (0, 0), decoded.width == canvas.width, decoded.height == canvas.height { return decoded }
        return try decoded.placedOnTransparentCanvas(
            width: canvas.width, height: canvas.height, x: position.x, y: position.y)
    }

    /// One frame decoded alone (`GIFStructure.Layout.singleFrameFile`), its rows in place.
    /// An interlaced frame is read as sequential and its rows moved here: libgd 2.3.3's own
    /// interlace reading skips no empty pass, so a frame 2–4 rows tall kept its first row
    /// and showed palette entry 0 in the others (Pillow and libvips read them all).
    static func decodeGIFFrame(
        _ frame: GIFStructure.Frame, of bytes: [UInt8], layout: GIFStructure.Layout
    ) throws(GDError) -> GDImage {
        var image = try GDImage.decode(layout.singleFrameFile(frame, of: bytes), codec: .gif)
        if frame.interlaced, image.height == frame.rect.height { image.moveRows(to: frame.interlacedRowDestinations) }
        return image
    }
}
