/// The first "Exif\0\0" APP1 before the scan: metadata after it is not something viewers
/// honour, and stopping there keeps the cost independent of the image size.
enum JPEGExifLocator {
    static func orientationValue(in jpeg: ByteReader) -> Int? {
        var value: Int?
        _ = try? JPEGSegments(reader: jpeg, skippingStrayBytes: false).walk { segment in
            guard segment.marker == 0xE1, segment.payload.matches(ExifTIFFStructure.exifHeader),
                let tiff = segment.payload.suffix(from: ExifTIFFStructure.exifHeader.count),
                let found = ExifTIFFStructure.orientationValue(in: tiff)
            else { return false }
            value = found
            return true
        }
        return value
    }
}
