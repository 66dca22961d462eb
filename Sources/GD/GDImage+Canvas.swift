internal import CGD

extension GDImage {
    /// This image placed with its top-left corner at (`x`, `y`) on a new fully transparent
    /// `width`×`height` canvas, clipped to it: how a GIF's first frame sits on its logical
    /// screen (libgd 2.3.3's GIF reader returns the frame alone, at its own size).
    ///
    /// Rows are copied whole rather than through `gdImageCopy`, which skips every source
    /// pixel equal to the image's transparent colour, a value libgd keeps from the GIF's
    /// palette after the truecolor conversion; here every pixel lands as it is.
    public consuming func placedOnTransparentCanvas(width: Int, height: Int, x: Int, y: Int) throws(GDError) -> GDImage {
        let canvas = try GDImage(width: width, height: height, transparent: true)
        let left = max(0, x), top = max(0, y)
        let right = min(width, x + self.width), bottom = min(height, y + self.height)
        guard left < right, top < bottom else { return canvas }
        let source = cgd_rows(raw)!, target = cgd_rows(canvas.raw)!
        let count = (right - left) * 4
        for row in top..<bottom {
            UnsafeMutableRawPointer(target[row]! + left).copyMemory(from: source[row - y]! + (left - x), byteCount: count)
        }
        return canvas
    }

    /// This image placed at (`x`, `y`) on a new `width`×`height` canvas filled with `fill`
    /// (packed gd colour: alpha 0 opaque … 127 transparent), clipped to it: padding and
    /// letterboxing. The image's own pixels replace the fill where it lies (no blending:
    /// a translucent pixel stays as translucent as it was).
    public consuming func placedOnCanvas(width: Int, height: Int, x: Int, y: Int, fill: UInt32) throws(GDError) -> GDImage {
        let canvas = try GDImage(width: width, height: height, transparent: true)
        let target = cgd_rows(canvas.raw)!
        for row in 0..<height {
            let line = UnsafeMutableRawPointer(target[row]!).assumingMemoryBound(to: UInt32.self)
            line.update(repeating: fill, count: width)
        }
        let left = max(0, x), top = max(0, y)
        let right = min(width, x + self.width), bottom = min(height, y + self.height)
        guard left < right, top < bottom else { return canvas }
        let source = cgd_rows(raw)!
        let count = (right - left) * 4
        for row in top..<bottom {
            UnsafeMutableRawPointer(target[row]! + left).copyMemory(from: source[row - y]! + (left - x), byteCount: count)
        }
        return canvas
    }
}
