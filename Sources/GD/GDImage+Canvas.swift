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

    /// An overlay of `width`×`height` 8-bit straight R,G,B,A pixels composited over this
    /// image with its top-left corner at (`x`, `y`), source-over in straight alpha, its
    /// opacity scaled by `opacity` (0…1). The overlay's alpha in its 8 bits (libgd's own
    /// image of it held 7: a colour at alpha 77 and opacity 0.37 came out a level off); an
    /// opaque base stays opaque.
    public consuming func composited(
        rgba overlay: [UInt8], width overlayWidth: Int, height overlayHeight: Int, x: Int, y: Int, opacity: Double
    ) throws(GDError) -> GDImage {
        guard overlay.count >= overlayWidth * overlayHeight * 4 else { throw .allocationFailed }
        let base = cgd_rows(raw)!
        let weight = max(0, min(1, opacity))
        for row in 0..<overlayHeight {
            let targetY = y + row
            guard targetY >= 0, targetY < height else { continue }
            let destination = UnsafeMutableRawPointer(base[targetY]!).assumingMemoryBound(to: UInt32.self)
            for column in 0..<overlayWidth {
                let targetX = x + column
                guard targetX >= 0, targetX < width else { continue }
                let over = (row * overlayWidth + column) * 4, under = destination[targetX]
                guard let blend = SourceOver(
                    overAlpha: Double(overlay[over + 3]) / 255 * weight, underAlpha: Double(127 - Int((under >> 24) & 0x7F)) / 127)
                else { continue }
                func channel(_ index: Int, _ shift: UInt32) -> UInt32 {
                    UInt32(blend.channel(overlay[over + index], over: UInt8((under >> shift) & 0xFF)))
                }
                let transparency = UInt32(max(0, min(127, 127 - Int((blend.alpha * 127).rounded()))))
                destination[targetX] = transparency << 24 | channel(0, 16) << 16 | channel(1, 8) << 8 | channel(2, 0)
            }
        }
        return self
    }
}
