import ProgimageAPI

extension ImageHeader {
    /// The size in the info header that follows the 14-byte file header.
    ///
    /// The info header's own length names its version: the OS/2 1.x core header (12)
    /// has 16-bit sides; every later one (OS/2 2.x, Windows v1–v5) has signed 32-bit
    /// sides, where a negative height means rows run top-down. A length outside the
    /// known versions means the rest of the layout cannot be trusted.
    static func readBMP(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches("BM") else { throw reader.corrupt("bad signature") }
        let infoSize = try reader.u32(14, .little)
        let width: Int
        let height: Int
        switch infoSize {
        case 12:
            width = Int(try reader.u16(18, .little))
            height = Int(try reader.u16(20, .little))
        case 16, 40, 52, 56, 64, 108, 124:
            let signedWidth = try reader.i32(18, .little)
            let signedHeight = try reader.i32(22, .little)
            guard signedWidth >= 0 else { throw reader.corrupt("negative width \(signedWidth)") }
            // Int32.min has no positive counterpart, so it cannot be a top-down height.
            guard signedHeight != Int32.min else { throw reader.corrupt("invalid height") }
            width = Int(signedWidth)
            height = abs(Int(signedHeight))
        default:
            throw reader.corrupt("unknown info header size \(infoSize)")
        }
        return try ImageHeader(format: .bmp, width: width, height: height)
    }

    /// What a BMP holds that no reader here decodes, in words, or nil: an embedded JPEG or
    /// PNG (compression 4 and 5, meant for printers) and 64-bit pixels. Said as such rather
    /// than as a file that "does not decode completely", as a JPEG's unsupported process is.
    static func unsupportedBMPFeature(_ bytes: [UInt8]) -> String? {
        let reader = ByteReader(bytes, label: "bmp")
        // Windows' header sizes only: in OS/2's (16–64 bytes) compression 4 is RLE24.
        guard reader.matches("BM"), let infoSize = try? reader.u32(14, .little), [40, 52, 56, 108, 124].contains(infoSize),
            let bits = try? reader.u16(28, .little), let compression = try? reader.u32(30, .little)
        else { return nil }
        switch (compression, bits) {
        case (4, _): return "an embedded JPEG (BI_JPEG)"
        case (5, _): return "an embedded PNG (BI_PNG)"
        case (_, 64): return "64-bit pixels"
        default: return nil
        }
    }
}
