import ProgimageAPI

extension ImageHeader {
    /// The canvas: the logical screen, enlarged to contain the first frame where that frame
    /// reaches past it (as browsers and Pillow show it). Every frame is composited onto it,
    /// so it is the size decoders allocate. A file whose blocks do not walk to the end
    /// reports its screen; the decode refuses it anyway.
    static func readGIF(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches("GIF87a") || reader.matches("GIF89a") else { throw reader.corrupt("bad signature") }
        let width = Int(try reader.u16(6, .little))
        let height = Int(try reader.u16(8, .little))
        guard let canvas = (try? GIFStructure.validate(reader.bytes))?.canvas else {
            return try ImageHeader(format: .gif, width: width, height: height)
        }
        return try ImageHeader(format: .gif, width: canvas.width, height: canvas.height)
    }
}
