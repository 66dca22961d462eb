import ProgimageAPI

/// Hand-built containers around a TIFF structure, so each container's EXIF path is tested
/// even where the corpus has no sample (it has no WebP with EXIF, for instance).
enum ExifFixture {
    struct Entry {
        var tag: UInt16
        var type: UInt16
        var count: UInt32
        var value: UInt32
    }

    static func orientationEntry(_ value: UInt16, type: UInt16 = 3) -> Entry {
        Entry(tag: 0x0112, type: type, count: 1, value: UInt32(value))
    }

    /// A classic TIFF structure with IFD0 at offset 8. SHORT values are left-justified in
    /// the value field, as the format requires.
    static func tiff(bigEndian: Bool, entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        out += integer(42, width: 2, bigEndian: bigEndian)
        out += integer(8, width: 4, bigEndian: bigEndian)
        out += integer(UInt64(entries.count), width: 2, bigEndian: bigEndian)
        for entry in entries {
            out += integer(UInt64(entry.tag), width: 2, bigEndian: bigEndian)
            out += integer(UInt64(entry.type), width: 2, bigEndian: bigEndian)
            out += integer(UInt64(entry.count), width: 4, bigEndian: bigEndian)
            out +=
                entry.type == 3
                ? integer(UInt64(entry.value), width: 2, bigEndian: bigEndian) + [0, 0]
                : integer(UInt64(entry.value), width: 4, bigEndian: bigEndian)
        }
        out += [0, 0, 0, 0]
        return out
    }

    /// The usual shape: a width tag before the orientation, as real cameras write them.
    static func tiff(orientation: UInt16, bigEndian: Bool = true) -> [UInt8] {
        tiff(
            bigEndian: bigEndian,
            entries: [Entry(tag: 0x0100, type: 3, count: 1, value: 640), orientationEntry(orientation)])
    }

    /// A BigTIFF (magic 43) structure with one SHORT orientation entry.
    static func bigTIFF(orientation: UInt16, bigEndian: Bool) -> [UInt8] {
        var out: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        out += integer(43, width: 2, bigEndian: bigEndian)
        out += integer(8, width: 2, bigEndian: bigEndian)
        out += integer(0, width: 2, bigEndian: bigEndian)
        out += integer(16, width: 8, bigEndian: bigEndian)
        out += integer(1, width: 8, bigEndian: bigEndian)
        out += integer(0x0112, width: 2, bigEndian: bigEndian)
        out += integer(3, width: 2, bigEndian: bigEndian)
        out += integer(1, width: 8, bigEndian: bigEndian)
        out += integer(UInt64(orientation), width: 2, bigEndian: bigEndian) + [0, 0, 0, 0, 0, 0]
        out += integer(0, width: 8, bigEndian: bigEndian)
        return out
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    /// SOI, JFIF APP0, the given segments, then SOS and EOI.
    static func jpeg(segments: [(marker: UInt8, payload: [UInt8])], afterScan: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        out += segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
        for (marker, payload) in segments { out += segment(marker, payload) }
        out += segment(0xDA, [1, 1, 0, 0, 0x3F, 0]) + [0x12, 0x34, 0x56]
        out += afterScan
        out += [0xFF, 0xD9]
        return out
    }

    static func jpeg(tiff: [UInt8]) -> [UInt8] {
        jpeg(segments: [(0xE1, exifHeader + tiff)])
    }

    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0xFF, marker] + integer(UInt64(payload.count + 2), width: 2, bigEndian: true) + payload
    }

    /// IHDR, then `eXIf` before or after IDAT, then IEND. CRCs are zero: readers must not care.
    static func png(exif: [UInt8], beforeImageData: Bool = true) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += pngChunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0])
        if beforeImageData { out += pngChunk("eXIf", exif) }
        out += pngChunk("IDAT", [0x78, 0x9C, 0x63, 0, 0, 0, 1, 0, 1])
        if !beforeImageData { out += pngChunk("eXIf", exif) }
        out += pngChunk("IEND", [])
        return out
    }

    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        integer(UInt64(data.count), width: 4, bigEndian: true) + Array(type.utf8) + data + [0, 0, 0, 0]
    }

    /// An extended WebP: VP8X, an odd-sized chunk (to exercise padding), VP8L, then EXIF last,
    /// where libwebp's muxer puts it.
    static func webp(exif: [UInt8]) -> [UInt8] {
        var chunks: [UInt8] = []
        chunks += riffChunk("VP8X", [0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        chunks += riffChunk("ICCP", [1, 2, 3])
        chunks += riffChunk("VP8L", [0x2F, 0, 0, 0, 0])
        chunks += riffChunk("EXIF", exif)
        return Array("RIFF".utf8) + integer(UInt64(chunks.count + 4), width: 4, bigEndian: false)
            + Array("WEBP".utf8) + chunks
    }

    static func riffChunk(_ fourCC: String, _ data: [UInt8]) -> [UInt8] {
        Array(fourCC.utf8) + integer(UInt64(data.count), width: 4, bigEndian: false) + data
            + (data.count % 2 == 1 ? [0] : [])
    }

    static func integer(_ value: UInt64, width: Int, bigEndian: Bool) -> [UInt8] {
        let little = (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        return bigEndian ? little.reversed() : little
    }

    /// The manifest spells formats as Pillow does.
    static func format(manifestName: String) -> ImageFormat? {
        switch manifestName {
        case "jpeg": .jpg
        case "heif": .heic
        default: ImageFormat(rawValue: manifestName)
        }
    }

    /// The offset of the TIFF structure inside a JPEG's Exif APP1, found the simple way.
    static func tiffOffset(inJPEG bytes: [UInt8]) -> Int? {
        let needle = exifHeader
        guard bytes.count >= needle.count else { return nil }
        for start in 0...(bytes.count - needle.count) where bytes[start..<start + needle.count].elementsEqual(needle) {
            return start + needle.count
        }
        return nil
    }
}

