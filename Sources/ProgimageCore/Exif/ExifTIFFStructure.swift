/// The orientation tag in IFD0 of a TIFF structure (`TIFFStructure`), wherever the
/// container keeps it: JPEG APP1, PNG eXIf, WebP EXIF, TIFF files themselves.
enum ExifTIFFStructure {
    static let orientationTag: UInt16 = 0x0112

    /// Some writers put the JPEG-style "Exif\0\0" marker in front of PNG and WebP payloads;
    /// Pillow and exiftool accept both spellings, so we do as well.
    static func orientationValue(afterOptionalExifHeader payload: ByteReader) -> Int? {
        if payload.matches(exifHeader), let tiff = payload.suffix(from: exifHeader.count) {
            return orientationValue(in: tiff)
        }
        return orientationValue(in: payload)
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    /// The raw tag value, or nil when the structure is malformed or has no such tag.
    static func orientationValue(in tiff: ByteReader) -> Int? {
        guard let structure = try? TIFFStructure(tiff, strict: false),
            let entries = try? structure.firstIFDEntries(strict: false)
        else { return nil }
        for entry in entries where (try? structure.tag(of: entry)) == orientationTag {
            // Orientation is a SHORT; LONG is accepted because some writers use it and it is unambiguous.
            return (try? structure.value(of: entry, followingSpill: true, long8: false)).flatMap { Int(exactly: $0) }
        }
        return nil
    }
}
