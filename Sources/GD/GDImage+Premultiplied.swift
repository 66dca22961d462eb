internal import CGD

/// libgd's scaling and rotation interpolate the four channels of a pixel independently,
/// so the colour of an invisible pixel (often black) is averaged into its visible
/// neighbours as a dark fringe: a white logo on a transparent background scaled to 3/4
/// came out with visible edge pixels as dark as 41, rotated by 33° as dark as 6. Around
/// those calls colours are multiplied by opacity, in libgd's own layout (7-bit alpha),
/// and divided back afterwards.
extension GDImage {
    /// Wraps what `call` makes of this image's pixels; when `translucent`, the call sees
    /// colours premultiplied and its result is divided back. For libgd's scaling and
    /// rotation, the two callers.
    consuming func throughPremultiplied(_ translucent: Bool, _ call: (gdImagePtr) -> gdImagePtr?) throws(GDError) -> GDImage {
        if translucent { premultiplyColours() }
        guard let made = call(raw) else { throw .allocationFailed }
        let result = GDImage(owning: made)
        if translucent { result.unpremultiplyColours() }
        return result
    }

    /// Multiplies each colour by its opacity, in place.
    private func premultiplyColours() {
        transformPixels { p in
            let opacity = 127 - ((p >> 24) & 0x7F)
            guard opacity < 127 else { return p }
            func channel(_ shift: UInt32) -> UInt32 { ((((p >> shift) & 0xFF) * opacity + 63) / 127) << shift }
            return p & 0x7F00_0000 | channel(16) | channel(8) | channel(0)
        }
    }

    /// Divides each colour by its opacity again, in place; a fully transparent pixel
    /// becomes transparent black.
    private func unpremultiplyColours() {
        transformPixels { p in
            let opacity = 127 - ((p >> 24) & 0x7F)
            guard opacity < 127 else { return p }
            guard opacity > 0 else { return 0x7F00_0000 }
            func channel(_ shift: UInt32) -> UInt32 {
                min(255, (((p >> shift) & 0xFF) * 127 + opacity / 2) / opacity) << shift
            }
            return p & 0x7F00_0000 | channel(16) | channel(8) | channel(0)
        }
    }

    private func transformPixels(_ transform: (UInt32) -> UInt32) {
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = UnsafeMutableRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width { row[x] = transform(row[x]) }
        }
    }
}
