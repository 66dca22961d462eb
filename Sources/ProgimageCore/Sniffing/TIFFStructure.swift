import ProgimageAPI

/// A TIFF header and its first IFD: the layout TIFF files, JPEG's APP1, PNG's eXIf and
/// WebP's EXIF chunk all share, walked here once for the header's size tags and for EXIF's
/// orientation.
///
/// Classic TIFF and BigTIFF differ only in field widths (32- vs 64-bit offsets and
/// counts, 12- vs 20-byte entries). Entries are read in file order without assuming they
/// are sorted, as the specification asks but writers do not always honour.
struct TIFFStructure {
    let reader: ByteReader
    let endian: ByteReader.Endian
    let isBig: Bool
    /// Where IFD0 starts.
    let firstIFD: Int

    /// The header. `strict` (a TIFF file's own header) also refuses an IFD offset inside
    /// the 8-byte header, which EXIF payloads are not held to.
    init(_ reader: ByteReader, strict: Bool) throws(ServiceError) {
        self.reader = reader
        if reader.matches("II") {
            endian = .little
        } else if reader.matches("MM") {
            endian = .big
        } else {
            throw reader.corrupt("bad byte-order mark")
        }
        switch try reader.u16(2, endian) {
        case 42:
            isBig = false
        case 43:
            // BigTIFF: offset byte size (always 8) and a reserved zero precede the IFD offset.
            guard try reader.u16(4, endian) == 8, try reader.u16(6, endian) == 0 else {
                throw reader.corrupt("unsupported BigTIFF offset size")
            }
            isBig = true
        default: throw reader.corrupt("bad magic number")
        }
        let raw = isBig ? try reader.u64(8, endian) : UInt64(try reader.u32(4, endian))
        guard let offset = Int(exactly: raw), !strict || offset >= 8 else { throw reader.corrupt("IFD offset out of range") }
        firstIFD = offset
    }

    private var countWidth: Int { isBig ? 8 : 2 }
    private var entryWidth: Int { isBig ? 20 : 12 }
    /// Tag and type come first, then the value count, then the inline value or its offset.
    private var valueField: Int { isBig ? 12 : 8 }
    private var valueFieldWidth: Int { isBig ? 8 : 4 }

    /// Where IFD0's entries start. `strict`: an empty IFD, or entries running past the end,
    /// are corrupt; otherwise as many whole entries as the bytes hold are walked.
    func firstIFDEntries(strict: Bool) throws(ServiceError) -> [Int] {
        let raw = isBig ? try reader.u64(firstIFD, endian) : UInt64(try reader.u16(firstIFD, endian))
        let first = try reader.add(firstIFD, countWidth)
        let available = max(0, (reader.count - first) / entryWidth)
        var count = Int(min(raw, UInt64(available)))
        if strict {
            guard raw > 0, let declared = Int(exactly: raw), declared <= reader.count else {
                throw reader.corrupt("implausible IFD entry count")
            }
            // The count is capped at the file's length above, so this product cannot overflow.
            try reader.require(first, declared * entryWidth)
            count = declared
        }
        return (0..<count).map { first + $0 * entryWidth }
    }

    func tag(of entry: Int) throws(ServiceError) -> UInt16 {
        try reader.u16(entry, endian)
    }

    /// The entry's first value: a SHORT, a LONG or (BigTIFF) a LONG8. `followingSpill`: a
    /// count too large for the value field means the field holds the value's offset (a
    /// malformed EXIF orientation does that; follow it rather than guess); otherwise the
    /// field is read in place.
    /// `long8`: BigTIFF's 64-bit LONG8 is accepted too (a TIFF's own sizes; EXIF's
    /// orientation has only ever been a SHORT or a LONG).
    func value(of entry: Int, followingSpill: Bool, long8: Bool) throws(ServiceError) -> UInt64 {
        let type = try reader.u16(entry + 2, endian)
        let width: Int
        switch type {
        case 3: width = 2
        case 4: width = 4
        case 16 where isBig && long8: width = 8
        default: throw reader.corrupt("field type \(type) is not SHORT or LONG")
        }
        let count = isBig ? try reader.u64(entry + 4, endian) : UInt64(try reader.u32(entry + 4, endian))
        guard count >= 1 else { throw reader.corrupt("tag without a value") }
        var at = entry + valueField
        if followingSpill, count > UInt64(valueFieldWidth / width) {
            let pointer = isBig ? try reader.u64(at, endian) : UInt64(try reader.u32(at, endian))
            guard let offset = Int(exactly: pointer) else { throw reader.corrupt("value offset out of range") }
            at = offset
        }
        switch width {
        case 2: return UInt64(try reader.u16(at, endian))
        case 4: return UInt64(try reader.u32(at, endian))
        default: return try reader.u64(at, endian)
        }
    }
}
