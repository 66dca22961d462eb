/// Walks the RIFF chunks of a WebP file to its `EXIF` chunk.
///
/// Extended WebP files put EXIF after the image data, so the whole chunk list is walked;
/// that touches only the chunk headers, never the pixels.
enum WebPExifLocator {
    private static let riff = Array("RIFF".utf8)
    private static let webp = Array("WEBP".utf8)
    private static let exif = Array("EXIF".utf8)

    static func orientationValue(in file: ExifBytes) -> Int? {
        guard file.hasBytes(riff), file.hasBytes(webp, at: 8) else { return nil }
        var offset = 12
        while let size = file.uint32(at: offset + 4, bigEndian: false) {
            guard let data = file.subrange(from: offset + 8, length: Int(size)) else { return nil }
            if file.hasBytes(exif, at: offset) {
                return ExifTIFFStructure.orientationValue(afterOptionalExifHeader: data)
            }
            // Chunks are padded to even sizes.
            offset += 8 + Int(size) + Int(size & 1)
        }
        return nil
    }
}
