/// Finds the orientation tag in IFD0 of a TIFF structure: the one layout that JPEG APP1,
/// PNG eXIf, WebP EXIF and TIFF files themselves all share.
///
/// BigTIFF (magic 43) is read too because it costs a few lines and the corpus has one.
enum ExifTIFFStructure {
    static let orientationTag: UInt16 = 0x0112

    /// Some writers put the JPEG-style "Exif\0\0" marker in front of PNG and WebP payloads;
    /// Pillow and exiftool accept both spellings, so we do as well.
    static func orientationValue(afterOptionalExifHeader payload: ExifBytes) -> Int? {
        if payload.hasBytes(exifHeader), let tiff = payload.suffix(from: exifHeader.count) {
            return orientationValue(in: tiff)
        }
        return orientationValue(in: payload)
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    /// The raw tag value, or nil when the structure is malformed or has no such tag.
    static func orientationValue(in tiff: ExifBytes) -> Int? {
        let bigEndian: Bool
        switch (tiff.byte(at: 0), tiff.byte(at: 1)) {
        case (0x49, 0x49): bigEndian = false
        case (0x4D, 0x4D): bigEndian = true
        default: return nil
        }
        guard let layout = Layout(tiff, bigEndian: bigEndian),
            let ifd = Int(exactly: layout.ifd0Offset),
            let declared = layout.entryCount(in: tiff, at: ifd, bigEndian: bigEndian)
        else { return nil }
        // `ifd` is in bounds once its count was read, so this sum cannot overflow.
        let entriesStart = ifd + layout.countWidth
        let available = (tiff.count - entriesStart) / layout.entryWidth
        let entries = Int(min(declared, UInt64(available)))
        for index in 0..<entries {
            let entry = entriesStart + index * layout.entryWidth
            guard tiff.uint16(at: entry, bigEndian: bigEndian) == orientationTag else { continue }
            return layout.shortOrLongValue(in: tiff, entry: entry, bigEndian: bigEndian)
        }
        return nil
    }
}

extension ExifTIFFStructure {
    /// Classic TIFF and BigTIFF differ only in field widths.
    struct Layout {
        let isBig: Bool
        let ifd0Offset: UInt64

        init?(_ tiff: ExifBytes, bigEndian: Bool) {
            switch tiff.uint16(at: 2, bigEndian: bigEndian) {
            case 42:
                guard let offset = tiff.uint32(at: 4, bigEndian: bigEndian) else { return nil }
                isBig = false
                ifd0Offset = UInt64(offset)
            case 43:
                guard tiff.uint16(at: 4, bigEndian: bigEndian) == 8, tiff.uint16(at: 6, bigEndian: bigEndian) == 0,
                    let offset = tiff.uint64(at: 8, bigEndian: bigEndian)
                else { return nil }
                isBig = true
                ifd0Offset = offset
            default:
                return nil
            }
        }

        var countWidth: Int { isBig ? 8 : 2 }
        var entryWidth: Int { isBig ? 20 : 12 }
        /// Tag and type come first, then the value count, then the inline value or its offset.
        var valueFieldOffset: Int { isBig ? 12 : 8 }
        var valueFieldWidth: Int { isBig ? 8 : 4 }

        func entryCount(in tiff: ExifBytes, at ifd: Int, bigEndian: Bool) -> UInt64? {
            isBig
                ? tiff.uint64(at: ifd, bigEndian: bigEndian)
                : tiff.uint16(at: ifd, bigEndian: bigEndian).map(UInt64.init)
        }

        /// Orientation is a SHORT; LONG is accepted because some writers use it and it is unambiguous.
        func shortOrLongValue(in tiff: ExifBytes, entry: Int, bigEndian: Bool) -> Int? {
            let valueWidth: Int
            switch tiff.uint16(at: entry + 2, bigEndian: bigEndian) {
            case 3: valueWidth = 2
            case 4: valueWidth = 4
            default: return nil
            }
            let count =
                isBig
                ? tiff.uint64(at: entry + 4, bigEndian: bigEndian)
                : tiff.uint32(at: entry + 4, bigEndian: bigEndian).map(UInt64.init)
            guard let count, count >= 1 else { return nil }
            let field = entry + valueFieldOffset
            var valueOffset = field
            // Only a malformed multi-valued tag spills out of the entry; follow it rather than guess.
            if count > UInt64(valueFieldWidth / valueWidth) {
                let pointer =
                    isBig
                    ? tiff.uint64(at: field, bigEndian: bigEndian)
                    : tiff.uint32(at: field, bigEndian: bigEndian).map(UInt64.init)
                guard let pointer, let offset = Int(exactly: pointer) else { return nil }
                valueOffset = offset
            }
            return valueWidth == 2
                ? tiff.uint16(at: valueOffset, bigEndian: bigEndian).map(Int.init)
                : tiff.uint32(at: valueOffset, bigEndian: bigEndian).map(Int.init)
        }
    }
}
