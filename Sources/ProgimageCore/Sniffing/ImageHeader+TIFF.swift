import ProgimageAPI

extension ImageHeader {
    /// ImageWidth (256) and ImageLength (257) from the first IFD, the page decoders open.
    static func readTIFF(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        let tiff = try TIFFStructure(reader, strict: true)
        var width: Int?
        var height: Int?
        for entry in try tiff.firstIFDEntries(strict: true) where width == nil || height == nil {
            let tag = try tiff.tag(of: entry)
            guard tag == 256 || tag == 257 else { continue }
            let raw = try tiff.value(of: entry, followingSpill: false, long8: true)
            guard let size = Int(exactly: raw), size <= Int(UInt32.max) else { throw reader.corrupt("size out of range") }
            if tag == 256 { width = size } else { height = size }
        }
        guard let width, let height else { throw reader.corrupt("first IFD lacks ImageWidth or ImageLength") }
        return try ImageHeader(format: .tiff, width: width, height: height)
    }
}
