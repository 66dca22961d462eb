/// PNG's chunks before the image data, walked for an ancillary chunk (`eXIf` for EXIF,
/// `iCCP` for the colour profile).
///
/// Only chunks before IDAT are read: that is where writers must put `iCCP` and put `eXIf`
/// so that streaming decoders see them before the pixels, and stopping there bounds the
/// walk. CRCs are not checked: nothing found here is trusted anyway.
enum PNGChunks {
    /// The data of the first chunk of `type` before IDAT.
    static func first(_ type: String, in png: ByteReader) -> ByteReader? {
        guard png.matches(FormatSniffer.pngSignature) else { return nil }
        var offset = FormatSniffer.pngSignature.count
        while let length = try? png.u32(offset, .big) {
            if png.matches("IDAT", at: offset + 4) || png.matches("IEND", at: offset + 4) { return nil }
            guard let data = png.subrange(offset + 8, Int(length)) else { return nil }
            if png.matches(type, at: offset + 4) { return data }
            offset += 12 + Int(length)  // length, type, data, CRC
        }
        return nil
    }
}
