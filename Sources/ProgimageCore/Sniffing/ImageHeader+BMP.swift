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
}
