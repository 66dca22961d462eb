import ProgimageAPI

extension ImageHeader {
    /// ImageWidth (256) and ImageLength (257) from the first IFD, the page decoders open.
    ///
    /// Classic TIFF and BigTIFF differ only in field widths (32- vs 64-bit offsets and
    /// counts, 12- vs 20-byte entries), so one walk serves both. Entries are read in
    /// file order without assuming they are sorted, as the specification asks but
    /// writers do not always honour.
    static func readTIFF(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        let endian: ByteReader.Endian
        if reader.matches("II") {
            endian = .little
        } else if reader.matches("MM") {
            endian = .big
        } else {
            throw reader.corrupt("bad byte-order mark")
        }
        let layout: Layout
        switch try reader.u16(2, endian) {
        case 42: layout = .classic
        case 43:
            // BigTIFF: offset byte size (always 8) and a reserved zero precede the IFD offset.
            guard try reader.u16(4, endian) == 8, try reader.u16(6, endian) == 0 else {
                throw reader.corrupt("unsupported BigTIFF offset size")
            }
            layout = .big
        default: throw reader.corrupt("bad magic number")
        }

        let ifd = try layout.offset(reader, at: layout.headerIFDOffset, endian)
        let entryCount = try layout.count(reader, at: ifd, endian)
        let firstEntry = try reader.add(ifd, layout.countSize)
        // The count is capped at the file's length above, so this product cannot overflow.
        try reader.require(firstEntry, entryCount * layout.entrySize)

        var width: Int?
        var height: Int?
        for index in 0..<entryCount where width == nil || height == nil {
            let entry = firstEntry + index * layout.entrySize
            let tag = try reader.u16(entry, endian)
            guard tag == 256 || tag == 257 else { continue }
            let value = try layout.scalar(reader, entry: entry, endian)
            if tag == 256 { width = value } else { height = value }
        }
        guard let width, let height else { throw reader.corrupt("first IFD lacks ImageWidth or ImageLength") }
        return try ImageHeader(format: .tiff, width: width, height: height)
    }

    private enum Layout {
        case classic, big

        var headerIFDOffset: Int { self == .classic ? 4 : 8 }
        var countSize: Int { self == .classic ? 2 : 8 }
        var entrySize: Int { self == .classic ? 12 : 20 }
        /// Where an entry's value (or the offset to it) sits: after tag, type and count.
        var valueField: Int { self == .classic ? 8 : 12 }

        func offset(_ reader: ByteReader, at position: Int, _ endian: ByteReader.Endian) throws(ServiceError) -> Int {
            let raw = self == .classic ? UInt64(try reader.u32(position, endian)) : try reader.u64(position, endian)
            guard raw >= 8, let offset = Int(exactly: raw) else { throw reader.corrupt("IFD offset out of range") }
            return offset
        }

        func count(_ reader: ByteReader, at position: Int, _ endian: ByteReader.Endian) throws(ServiceError) -> Int {
            let raw = self == .classic ? UInt64(try reader.u16(position, endian)) : try reader.u64(position, endian)
            guard raw > 0, let count = Int(exactly: raw), count <= reader.count else {
                throw reader.corrupt("implausible IFD entry count")
            }
            return count
        }

        /// A size-valued entry: one SHORT, LONG or LONG8, stored left-justified in the value field.
        func scalar(_ reader: ByteReader, entry: Int, _ endian: ByteReader.Endian) throws(ServiceError) -> Int {
            let type = try reader.u16(entry + 2, endian)
            let valueCount =
                self == .classic ? UInt64(try reader.u32(entry + 4, endian)) : try reader.u64(entry + 4, endian)
            guard valueCount >= 1 else { throw reader.corrupt("size tag without a value") }
            let value = entry + valueField
            let raw: UInt64
            switch type {
            case 3: raw = UInt64(try reader.u16(value, endian))
            case 4: raw = UInt64(try reader.u32(value, endian))
            case 16 where self == .big: raw = try reader.u64(value, endian)
            default: throw reader.corrupt("size tag has field type \(type), not SHORT or LONG")
            }
            guard let size = Int(exactly: raw), size <= Int(UInt32.max) else {
                throw reader.corrupt("size out of range")
            }
            return size
        }
    }
}
