/// Walks PNG chunks to an ancillary chunk placed before the image data (`eXIf`, `iCCP`).
///
/// Only chunks before IDAT are read: that is where writers must put `iCCP` and put
/// `eXIf` so that streaming decoders see them before the pixels, and stopping there
/// bounds the walk.
enum PNGChunkLocator {
    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let imageData = Array("IDAT".utf8)
    private static let end = Array("IEND".utf8)

    /// The data of the first chunk of `type` before IDAT.
    static func chunk(_ type: String, in png: ExifBytes) -> ExifBytes? {
        guard png.hasBytes(signature) else { return nil }
        let wanted = Array(type.utf8)
        var offset = signature.count
        while let length = png.uint32(at: offset, bigEndian: true) {
            let typeOffset = offset + 4
            if png.hasBytes(imageData, at: typeOffset) || png.hasBytes(end, at: typeOffset) { return nil }
            guard let data = png.subrange(from: offset + 8, length: Int(length)) else { return nil }
            if png.hasBytes(wanted, at: typeOffset) { return data }
            // Length, type, data, CRC; the CRC is not checked because nothing here is trusted anyway.
            offset += 12 + Int(length)
        }
        return nil
    }

    static func orientationValue(in png: ExifBytes) -> Int? {
        chunk("eXIf", in: png).flatMap { ExifTIFFStructure.orientationValue(afterOptionalExifHeader: $0) }
    }
}
