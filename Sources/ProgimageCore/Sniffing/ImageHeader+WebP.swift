import ProgimageAPI

extension ImageHeader {
    /// The size from the first chunk after `RIFF….WEBP`, whose type says where it lives.
    ///
    /// Simple files start with the bitstream itself (`VP8 ` lossy, `VP8L` lossless);
    /// extended files (`VP8X`) start with a canvas header that covers animation and
    /// alpha, and its canvas is the size decoders produce.
    static func readWebP(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches("RIFF"), reader.matches("WEBP", at: 8) else {
            throw reader.corrupt("bad RIFF/WEBP signature")
        }
        let chunk = 12
        let data = chunk + 8
        let width: Int
        let height: Int
        if reader.matches("VP8 ", at: chunk) {
            // Frame tag (3 bytes; bit 0 clear on key frames), start code, then 14-bit sizes
            // whose top two bits are a scaling hint, not part of the size.
            guard try reader.u8(data) & 1 == 0 else { throw reader.corrupt("first VP8 frame is not a key frame") }
            guard reader.matches([0x9D, 0x01, 0x2A], at: data + 3) else {
                throw reader.corrupt("missing VP8 start code")
            }
            width = Int(try reader.u16(data + 6, .little) & 0x3FFF)
            height = Int(try reader.u16(data + 8, .little) & 0x3FFF)
        } else if reader.matches("VP8L", at: chunk) {
            guard try reader.u8(data) == 0x2F else { throw reader.corrupt("missing VP8L signature byte") }
            // 14 bits width-1, 14 bits height-1, 1 bit alpha hint, 3 bits version (must be 0).
            let bits = try reader.u32(data + 1, .little)
            guard bits >> 29 == 0 else { throw reader.corrupt("unknown VP8L version") }
            width = Int(bits & 0x3FFF) + 1
            height = Int((bits >> 14) & 0x3FFF) + 1
        } else if reader.matches("VP8X", at: chunk) {
            // Flags (1), reserved (3), then 24-bit canvas width-1 and height-1.
            width = Int(try reader.u24(data + 4, .little)) + 1
            height = Int(try reader.u24(data + 7, .little)) + 1
        } else {
            throw reader.corrupt("first chunk is not VP8, VP8L or VP8X")
        }
        return try ImageHeader(format: .webp, width: width, height: height)
    }
}
