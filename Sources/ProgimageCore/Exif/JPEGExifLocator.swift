/// Walks JPEG marker segments from SOI to the first "Exif\0\0" APP1.
///
/// The walk stops at SOS: metadata after the scan is not something viewers honour, and
/// stopping there keeps the cost independent of the image size.
enum JPEGExifLocator {
    static func orientationValue(in jpeg: ExifBytes) -> Int? {
        guard jpeg.hasBytes([0xFF, 0xD8]) else { return nil }
        var offset = 2
        while jpeg.byte(at: offset) == 0xFF {
            var markerOffset = offset + 1
            // Any number of 0xFF fill bytes may precede a marker.
            while jpeg.byte(at: markerOffset) == 0xFF { markerOffset += 1 }
            guard let marker = jpeg.byte(at: markerOffset) else { return nil }
            offset = markerOffset + 1
            switch marker {
            case 0xDA, 0xD9, 0x00: return nil
            case 0x01, 0xD0...0xD7: continue  // standalone markers carry no length
            default: break
            }
            guard let length = jpeg.uint16(at: offset, bigEndian: true), length >= 2,
                let payload = jpeg.subrange(from: offset + 2, length: Int(length) - 2)
            else { return nil }
            if marker == 0xE1, payload.hasBytes(ExifTIFFStructure.exifHeader),
                let tiff = payload.suffix(from: ExifTIFFStructure.exifHeader.count),
                let value = ExifTIFFStructure.orientationValue(in: tiff)
            {
                return value
            }
            offset += Int(length)
        }
        return nil
    }
}
