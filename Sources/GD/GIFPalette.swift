internal import CGD

/// GIF has a 256-colour palette and one fully transparent index. libgd's writer quantizes a
/// truecolor image itself but drops its alpha, so a transparent PNG became an opaque GIF.
/// Here: pixels more than half transparent become one transparent colour, the rest opaque,
/// then `gdImageCreatePaletteFromTrueColor` quantizes and the transparent entry is marked.
enum GIFPalette {
    static func encode(_ image: gdImagePtr, _ size: UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer? {
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
        guard let palette = gdImageCreatePaletteFromTrueColor(copy, 0, 256) else { return nil }
        defer { gdImageDestroy(palette) }
        // The quantizer weighs alpha, so transparent pixels keep an entry of their own.
        if let at = transparentAt {
            gdImageColorTransparent(palette, gdImageGetPixel(palette, at.x, at.y))
        }
        return gdImageGifPtr(palette, size)
    }
}
