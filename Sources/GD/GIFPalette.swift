internal import CGD

/// GIF has a 256-colour palette and one fully transparent index. libgd's writer quantizes a
/// truecolor image itself but drops its alpha, so a transparent PNG became an opaque GIF.
/// Here: pixels more than half transparent become one transparent colour, the rest opaque,
/// then `gdImageCreatePaletteFromTrueColor` quantizes and the transparent entry is marked.
enum GIFPalette {
    static func encode(_ image: gdImagePtr, _ size: UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer? {
        guard let palette = quantized(image, reservingTransparentIndex: false) else { return nil }
        defer { gdImageDestroy(palette) }
        return gdImageGifPtr(palette, size)
    }

    /// Whether GIF would show any of `image`'s pixels as transparent (more than half so).
    static func hasTransparentPixels(_ image: gdImagePtr) -> Bool {
        let width = Int(image.pointee.sx), height = Int(image.pointee.sy)
        let rows = cgd_rows(image)!
        for y in 0..<height {
            let row = rows[y]!
            for x in 0..<width where (UInt32(bitPattern: row[x]) >> 24) & 0x7F >= 64 { return true }
        }
        return false
    }

    /// A palette copy of `image`, which the caller destroys, with a transparent index
    /// where pixels are transparent. `reservingTransparentIndex` gives an opaque image
    /// one as well (quantized to 255 colours, the 256th unused): an animation frame
    /// disposed "to background" needs one for readers that clear to the transparent index
    /// and otherwise to an opaque background colour (Pillow).
    static func quantized(_ image: gdImagePtr, reservingTransparentIndex: Bool) -> gdImagePtr? {
        let width = Int(image.pointee.sx), height = Int(image.pointee.sy)
        guard let copy = gdImageCreateTrueColor(Int32(width), Int32(height)) else { return nil }
        defer { gdImageDestroy(copy) }
        var transparentAt: (x: Int32, y: Int32)?
        let source = cgd_rows(image)!, target = cgd_rows(copy)!
        for y in 0..<height {
            let from = source[y]!, to = target[y]!
            for x in 0..<width {
                let p = from[x]
                if (p >> 24) & 0x7F >= 64 {
                    to[x] = 0x7F00_0000
                    if transparentAt == nil { transparentAt = (Int32(x), Int32(y)) }
                } else {
                    to[x] = p & 0x00FF_FFFF
                }
            }
        }
        let reserve = reservingTransparentIndex && transparentAt == nil
        if let exact = exactPalette(copy, limit: reserve ? 255 : 256) {
            if let at = transparentAt {
                gdImageColorTransparent(exact, gdImageGetPixel(exact, at.x, at.y))
            } else if reserve {
                gdImageColorTransparent(exact, gdImageColorAllocateAlpha(exact, 0, 0, 0, 127))
            }
            return exact
        }
        guard transparentAt != nil || reserve else { return gdImageCreatePaletteFromTrueColor(copy, 0, 256) }
        return quantizedAroundTransparency(copy, transparentWhere: image)
    }

    /// The opaque pixels quantized to 255 colours and the transparent ones given the 256th
    /// entry of their own. Quantized together, libgd's quantizer could put near-black
    /// opaque pixels into the transparent entry, and they showed transparent (21 pixels of
    /// a 96×96 photo with a hole in it).
    /// `copy` is the thresholded image (transparent pixels exactly 0x7F000000), `source` the
    /// image it came from, read again to find them.
    private static func quantizedAroundTransparency(_ copy: gdImagePtr, transparentWhere source: gdImagePtr) -> gdImagePtr? {
        let width = Int(copy.pointee.sx), height = Int(copy.pointee.sy)
        let rows = cgd_rows(copy)!
        var fill: Int32?
        search: for y in 0..<height {
            for x in 0..<width where rows[y]![x] != 0x7F00_0000 {
                fill = rows[y]![x]
                break search
            }
        }
        // Transparent pixels take an opaque pixel's colour, so they form no cluster.
        for y in 0..<height {
            let row = rows[y]!
            for x in 0..<width where row[x] == 0x7F00_0000 { row[x] = fill ?? 0 }
        }
        guard let palette = gdImageCreatePaletteFromTrueColor(copy, 0, 255) else { return nil }
        let index = gdImageColorAllocateAlpha(palette, 0, 0, 0, 127)
        guard index >= 0 else {
            gdImageDestroy(palette)
            return nil
        }
        let indices = cgd_palette_rows(palette)!, original = cgd_rows(source)!
        for y in 0..<height {
            let row = original[y]!, line = indices[y]!
            for x in 0..<width where (row[x] >> 24) & 0x7F >= 64 { line[x] = UInt8(index) }
        }
        gdImageColorTransparent(palette, index)
        return palette
    }

    /// A palette image with exactly `image`'s colours when it has at most `limit` of them
    /// (a GIF, a drawing, a frame of an animation), else nil. libgd's quantizer moves
    /// colours by up to 4 levels even then, so a GIF re-encoded without a change came out
    /// different.
    private static func exactPalette(_ image: gdImagePtr, limit: Int) -> gdImagePtr? {
        let width = Int(image.pointee.sx), height = Int(image.pointee.sy)
        let rows = cgd_rows(image)!
        var indices: [Int32: Int32] = [:]
        indices.reserveCapacity(limit)
        for y in 0..<height {
            let row = rows[y]!
            for x in 0..<width where indices[row[x]] == nil {
                guard indices.count < limit else { return nil }
                indices[row[x]] = Int32(indices.count)
            }
        }
        guard let palette = gdImageCreate(Int32(width), Int32(height)) else { return nil }
        for (colour, _) in indices.sorted(by: { $0.value < $1.value }) {
            _ = gdImageColorAllocateAlpha(
                palette, (colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF, (colour >> 24) & 0x7F)
        }
        let target = cgd_palette_rows(palette)!
        for y in 0..<height {
            let row = rows[y]!, line = target[y]!
            for x in 0..<width { line[x] = UInt8(indices[row[x]]!) }
        }
        return palette
    }
}
