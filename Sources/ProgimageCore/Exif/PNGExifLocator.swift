/// Walks PNG chunks to an `eXIf` chunk placed before the image data.
///
/// Only chunks before IDAT are read: that is where writers put `eXIf` so that streaming
/// decoders see it before the pixels, and stopping there bounds the walk.
enum PNGExifLocator {
    private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let exif = Array("eXIf".utf8)
    private static let imageData = Array("IDAT".utf8)
    private static let end = Array("IEND".utf8)

    static func orientationValue(in png: ExifBytes) -> Int? {
        guard png.hasBytes(signature) else { return nil }
        var offset = signature.count
        while let length = png.uint32(at: offset, bigEndian: true) {
            let type = offset + 4
            if png.hasBytes(imageData, at: type) || png.hasBytes(end, at: type) { return nil }
            guard let data = png.subrange(from: offset + 8, length: Int(length)) else { return nil }
            if png.hasBytes(exif, at: type) {
                return ExifTIFFStructure.orientationValue(afterOptionalExifHeader: data)
            }
            // Length, type, data, CRC; the CRC is not checked because nothing here is trusted anyway.
            offset += 12 + Int(length)
        }
        return nil
    }
}
