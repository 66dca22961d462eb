import Zlib

/// The ICC profile a file carries, for the one format whose decoder does not hand it
/// over (libgd's PNG path). JPEG's, TIFF's, WebP's and HEIF's come from their decoders.
enum EmbeddedColorProfile {
    /// Larger profiles exist (press CMYK profiles reach ~600 KB) but not beyond this.
    static let maximumBytes = 4 << 20

    /// `iCCP`: a profile name of 1–79 bytes, NUL, compression method 0, a zlib stream.
    static func png(_ bytes: [UInt8]) -> [UInt8]? {
        guard let chunk = PNGChunks.first("iCCP", in: ByteReader(bytes, label: "png"))?.bytes,
            let nul = chunk.prefix(80).firstIndex(of: 0), nul > chunk.startIndex,
            chunk.index(after: nul) < chunk.endIndex, chunk[chunk.index(after: nul)] == 0
        else { return nil }
        return Inflate.zlib(chunk[(nul + 2)...], limit: maximumBytes)
    }
}
