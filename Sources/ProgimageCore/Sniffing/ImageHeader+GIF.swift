import ProgimageAPI

extension ImageHeader {
    /// The logical screen (canvas) size: every frame is composited onto it, so it is the
    /// size decoders allocate, even when a frame's own descriptor claims to be larger.
    static func readGIF(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches("GIF87a") || reader.matches("GIF89a") else { throw reader.corrupt("bad signature") }
        let width = Int(try reader.u16(6, .little))
        let height = Int(try reader.u16(8, .little))
        return try ImageHeader(format: .gif, width: width, height: height)
    }
}
