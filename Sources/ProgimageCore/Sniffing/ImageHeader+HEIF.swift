import ProgimageAPI

extension ImageHeader {
    /// The `ispe` (image spatial extents) property of the primary item.
    static func readHEIF(_ reader: ByteReader, format: ImageFormat) throws(ServiceError) -> ImageHeader {
        for property in try primaryItemProperties(reader) where property.type == "ispe" {
            // FullBox header (4), then 32-bit width and height.
            try property.require(property.payload, 12)
            let width = Int(try reader.u32(property.payload + 4, .big))
            let height = Int(try reader.u32(property.payload + 8, .big))
            return try ImageHeader(format: format, width: width, height: height)
        }
        throw reader.corrupt("the primary item has no ispe property")
    }

    /// Whether the primary item's codec configuration says monochrome: `av1C`'s mono_chrome
    /// bit, or `hvcC`'s chroma_format_idc 0. libheif 1.15 turns such an image to RGB
    /// without expanding a limited range, so it came out washed out (12–239 for a
    /// picture the same file in colour shows 0–255); the decoder needs to know.
    static func heifPrimaryIsMonochrome(_ bytes: [UInt8]) -> Bool {
        let reader = ByteReader(bytes, label: "heif")
        guard let properties = try? primaryItemProperties(reader) else { return false }
        for property in properties {
            switch property.type {
            case "av1C":
                // marker/version, profile/level, then tier, high bitdepth, twelve bit, mono_chrome…
                if let flags = try? reader.u8(property.payload + 2), property.end > property.payload + 2 {
                    return flags & 0x10 != 0
                }
            case "hvcC":
                // 13 bytes of profile, tier and level; 2 of segmentation; 1 of parallelism; then chroma_format_idc.
                if let chroma = try? reader.u8(property.payload + 16), property.end > property.payload + 16 {
                    return chroma & 0x03 == 0
                }
            default: continue
            }
        }
        return false
    }

    /// The primary item's transformative properties, in the order `ipma` lists them (the
    /// order they apply in), or nil when the container cannot be read.
    static func heifPrimaryTransforms(_ bytes: [UInt8]) -> [HEIFTransform]? {
        let reader = ByteReader(bytes, label: "heif")
        guard let properties = try? primaryItemProperties(reader) else { return nil }
        var transforms: [HEIFTransform] = []
        for property in properties {
            switch property.type {
            case "irot":
                guard property.end > property.payload, let angle = try? reader.u8(property.payload) else { return nil }
                transforms.append(.rotateCounterClockwise(quarterTurns: Int(angle & 0x03)))
            case "imir":
                guard property.end > property.payload, let axis = try? reader.u8(property.payload) else { return nil }
                // libheif's reading (and the corrected standard's): axis 1 mirrors left-right,
                // axis 0 top-bottom.
                transforms.append(.mirror(leftRight: axis & 0x01 == 1))
            case "clap":
                transforms.append(.cleanAperture)
            default: continue
            }
        }
        return transforms
    }

    /// The properties `ipma` binds to the primary item (`pitm`), in its order.
    ///
    /// A HEIF/AVIF file is a tree of ISO BMFF boxes holding several images (thumbnails,
    /// alpha planes, grid tiles); only the primary item, named by `pitm`, is the picture.
    /// Properties live once in `ipco` and are bound to items by 1-based index in `ipma`,
    /// so a property is found by following that index, not by taking the first of its
    /// type, which is often a thumbnail's. `ispe` is the coded size: `clap` and `irot` are
    /// applied later and do not change what a decoder allocates.
    private static func primaryItemProperties(_ reader: ByteReader) throws(ServiceError) -> [BMFFBox] {
        guard FormatSniffer.heifFormat(reader) != nil else { throw reader.corrupt("no HEIF ftyp box at the start") }

        var topLevel = BMFFBoxes(reader, from: 0, to: reader.count)
        var meta: BMFFBox?
        while meta == nil, let box = try topLevel.next() {
            if box.type == "meta" { meta = box }
            if box.type == "mini" { throw reader.corrupt("the compact 'mini' HEIF layout is not supported") }
        }
        guard let meta else { throw reader.corrupt("no meta box") }

        var primary: UInt32?
        var properties: [BMFFBox] = []
        var associations: [BMFFBox] = []
        // meta is a FullBox: version and flags precede its children.
        try meta.require(meta.payload, 4)
        var children = BMFFBoxes(reader, from: meta.payload + 4, to: meta.end)
        while let child = try children.next() {
            switch child.type {
            case "pitm": primary = try primaryItem(reader, child)
            case "iprp":
                var iprp = BMFFBoxes(reader, from: child.payload, to: child.end)
                while let box = try iprp.next() {
                    if box.type == "ipco" {
                        var ipco = BMFFBoxes(reader, from: box.payload, to: box.end)
                        while let property = try ipco.next() { properties.append(property) }
                    } else if box.type == "ipma" {
                        associations.append(box)
                    }
                }
            default: continue
            }
        }
        guard let primary else { throw reader.corrupt("no primary item (pitm)") }

        var bound: [BMFFBox] = []
        for ipma in associations {
            guard let indexes = try propertyIndexes(reader, ipma, item: primary) else { continue }
            for index in indexes where index > 0 {
                guard index <= properties.count else { throw reader.corrupt("property index \(index) past ipco") }
                bound.append(properties[index - 1])
            }
        }
        return bound
    }

    private static func primaryItem(_ reader: ByteReader, _ pitm: BMFFBox) throws(ServiceError) -> UInt32 {
        try pitm.require(pitm.payload, 4)
        if try reader.u8(pitm.payload) == 0 {
            try pitm.require(pitm.payload + 4, 2)
            return UInt32(try reader.u16(pitm.payload + 4, .big))
        }
        try pitm.require(pitm.payload + 4, 4)
        return try reader.u32(pitm.payload + 4, .big)
    }

    /// The property indexes `ipma` binds to `item`, or nil when this box does not mention it.
    ///
    /// Version 0 has 16-bit item ids, later versions 32-bit; flag bit 0 widens each
    /// association from 1 byte (essential bit + 7-bit index) to 2 (essential + 15-bit).
    /// Every read is checked against the box's end, so an inflated entry count stops at
    /// the box boundary instead of running on through the file.
    static func propertyIndexes(_ reader: ByteReader, _ ipma: BMFFBox, item: UInt32) throws(ServiceError)
        -> [Int]?
    {
        try ipma.require(ipma.payload, 8)
        let version = try reader.u8(ipma.payload)
        let wideIndexes = try reader.u24(ipma.payload + 1, .big) & 1 == 1
        let idSize = version < 1 ? 2 : 4
        let indexSize = wideIndexes ? 2 : 1
        let entryCount = try reader.u32(ipma.payload + 4, .big)
        var offset = ipma.payload + 8
        for _ in 0..<entryCount {
            try ipma.require(offset, idSize + 1)
            let id = idSize == 2 ? UInt32(try reader.u16(offset, .big)) : try reader.u32(offset, .big)
            let count = Int(try reader.u8(offset + idSize))
            offset += idSize + 1
            try ipma.require(offset, count * indexSize)
            if id == item {
                var indexes: [Int] = []
                for position in 0..<count {
                    let at = offset + position * indexSize
                    indexes.append(wideIndexes ? Int(try reader.u16(at, .big) & 0x7FFF) : Int(try reader.u8(at) & 0x7F))
                }
                return indexes
            }
            offset += count * indexSize
        }
        return nil
    }
}

/// One ISO BMFF box: its type and where its payload and the box itself end.
struct BMFFBox {
    let type: String
    let reader: ByteReader
    /// First byte after the header (size, type, optional 64-bit size and uuid).
    let payload: Int
    let end: Int

    /// Throws unless `length` bytes at `offset` lie inside this box, not merely inside the file.
    func require(_ offset: Int, _ length: Int) throws(ServiceError) {
        guard offset >= payload, length >= 0, offset <= end, length <= end - offset else {
            throw reader.corrupt("'\(type)' box too short")
        }
    }
}

/// The boxes in `from..<to`, one at a time, so a search can stop before a box it need not
/// trust (a truncated `mdat` after `meta` is the common case).
struct BMFFBoxes {
    let reader: ByteReader
    private var offset: Int
    private let end: Int

    init(_ reader: ByteReader, from offset: Int, to end: Int) {
        self.reader = reader
        self.offset = offset
        self.end = end
    }

    mutating func next() throws(ServiceError) -> BMFFBox? {
        // Fewer bytes than a box header is trailing padding, not a box.
        guard end - offset >= 8 else { return nil }
        let start = offset
        let type = try reader.fourCC(start + 4)
        var header = 8
        let size: Int
        switch try reader.u32(start, .big) {
        case 0:
            size = end - start  // the box runs to the end of its container
        case 1:
            try reader.require(start + 8, 8)
            guard let large = Int(exactly: try reader.u64(start + 8, .big)) else {
                throw reader.corrupt("box size overflow")
            }
            size = large
            header = 16
        case let small:
            size = Int(small)
        }
        if type == "uuid" { header += 16 }
        guard size >= header, size <= end - start else {
            throw reader.corrupt("'\(type)' box size \(size) out of bounds")
        }
        offset = start + size
        return BMFFBox(type: type, reader: reader, payload: start + header, end: start + size)
    }
}
