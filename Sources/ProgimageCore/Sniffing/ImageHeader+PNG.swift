import ProgimageAPI

extension ImageHeader {
    /// The size in IHDR, which the format requires to be the first chunk.
    ///
    /// The whole chunk is checked (CRC, bit depth against colour type, methods), not
    /// just the two sizes: libpng rejects all of these as fatal, and refusing them here
    /// costs 25 bytes of reading instead of a decoder setup.
    static func readPNG(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches(FormatSniffer.pngSignature) else { throw reader.corrupt("bad signature") }
        guard try reader.u32(8, .big) == 13, reader.matches("IHDR", at: 12) else {
            throw reader.corrupt("first chunk is not a 13-byte IHDR")
        }
        try reader.require(12, 4 + 13 + 4)
        let storedCRC = try reader.u32(29, .big)
        guard let ihdr = reader.subrange(12, 17), crc32(ihdr.bytes) == storedCRC else {
            throw reader.corrupt("IHDR checksum mismatch")
        }
        let width = try reader.u32(16, .big)
        let height = try reader.u32(20, .big)
        // The specification caps each side at 2^31-1 so that it fits a signed 32-bit integer.
        guard width <= UInt32(Int32.max), height <= UInt32(Int32.max) else {
            throw reader.corrupt("side exceeds 2^31-1")
        }
        let depth = try reader.u8(24)
        let colorType = try reader.u8(25)
        guard allowedDepths(colorType: colorType).contains(depth) else {
            throw reader.corrupt("bit depth \(depth) is not allowed for colour type \(colorType)")
        }
        guard try reader.u8(26) == 0, try reader.u8(27) == 0, try reader.u8(28) <= 1 else {
            throw reader.corrupt("unknown compression, filter or interlace method")
        }
        return try ImageHeader(format: .png, width: Int(width), height: Int(height))
    }

    private static func allowedDepths(colorType: UInt8) -> [UInt8] {
        switch colorType {
        case 0: [1, 2, 4, 8, 16]  // grayscale
        case 3: [1, 2, 4, 8]  // palette
        case 2, 4, 6: [8, 16]  // RGB, gray+alpha, RGBA
        default: []
        }
    }

    /// CRC-32 (ISO 3309, as PNG uses it) bit by bit: it only ever covers IHDR's 17 bytes.
    private static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
        }
        return ~crc
    }
}
