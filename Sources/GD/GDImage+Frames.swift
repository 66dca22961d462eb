internal import CGD

/// What compositing an animation's frames on its canvas takes: GIF frames are drawn one
/// over the other, and a frame's disposal clears its rectangle or restores what was there.
extension GDImage {
    /// An independent copy (`gdImageClone`): the canvas a GIF frame whose disposal is
    /// "restore to previous" hands back.
    public func copy() throws(GDError) -> GDImage {
        guard let clone = gdImageClone(raw) else { throw .allocationFailed }
        return GDImage(owning: clone, knownOpaque: knownOpaque)
    }

    /// Puts rows decoded in the order a file stored them where they belong: row `k` moves
    /// to row `destinations[k]`, a permutation of the rows. Only the row pointers move.
    public mutating func moveRows(to destinations: [Int]) {
        precondition(destinations.count == height && Set(destinations) == Set(0..<height))
        let rows = cgd_rows(raw)!
        let stored = (0..<height).map { rows[$0] }
        for (row, destination) in destinations.enumerated() { rows[destination] = stored[row] }
    }

    /// Draws the pixels of `frame` that are not fully transparent with its top-left corner
    /// at (`x`, `y`), clipped to this image: a GIF frame onto its canvas. GIF pixels are
    /// opaque or fully transparent, so there is nothing to blend; a transparent pixel
    /// leaves what the earlier frames left.
    public mutating func drawFrame(_ frame: borrowing GDImage, x: Int, y: Int) {
        let left = max(0, x), top = max(0, y)
        let right = min(width, x + frame.width), bottom = min(height, y + frame.height)
        guard left < right, top < bottom else { return }
        knownOpaque = false
        let source = cgd_rows(frame.raw)!, target = cgd_rows(raw)!
        for row in top..<bottom {
            let from = source[row - y]!, to = target[row]!
            for column in left..<right {
                let pixel = from[column - x]
                if UInt32(bitPattern: pixel) >> 24 & 0x7F != 0x7F { to[column] = pixel }
            }
        }
    }

    /// Makes a rectangle fully transparent, clipped to this image: GIF's "restore to
    /// background" disposal as browsers apply it (the background colour index is ignored).
    public mutating func clear(x: Int, y: Int, width clearWidth: Int, height clearHeight: Int) {
        let left = max(0, x), top = max(0, y)
        let right = min(width, x + clearWidth), bottom = min(height, y + clearHeight)
        guard left < right, top < bottom else { return }
        knownOpaque = false
        let target = cgd_rows(raw)!
        for row in top..<bottom {
            let line = UnsafeMutableRawPointer(target[row]! + left).assumingMemoryBound(to: UInt32.self)
            line.update(repeating: 0x7F00_0000, count: right - left)
        }
    }
}
