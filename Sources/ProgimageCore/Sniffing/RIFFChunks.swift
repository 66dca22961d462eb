/// A WebP file's RIFF chunks after `RIFF….WEBP`, walked for EXIF (extended files put it
/// after the image data) and to count an animation's `ANMF` frames. Only chunk headers are
/// touched, never the pixels.
enum RIFFChunks {
    /// Calls `visit` with each whole chunk's four-character code and payload until it
    /// answers true; stops at the first chunk that runs past the end.
    static func walk(_ file: ByteReader, _ visit: (_ code: ByteReader, _ payload: ByteReader) -> Bool) {
        guard file.matches("RIFF"), file.matches("WEBP", at: 8) else { return }
        var offset = 12
        while let size = try? file.u32(offset + 4, .little), let code = file.subrange(offset, 4),
            let payload = file.subrange(offset + 8, Int(size))
        {
            if visit(code, payload) { return }
            offset += 8 + Int(size) + Int(size & 1)  // chunks are padded to even sizes
        }
    }
}
