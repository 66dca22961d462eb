import ProgimageAPI

/// The items of a HEIF file's `meta` box, as far as finding each one's type, data,
/// references and properties goes: what `HEIFContainer` asks of the primary image (`ispe`,
/// transforms, monochrome) and the walk to the coded pictures (`HEIFCodedPictures`) read.
struct HEIFItems {
    let reader: ByteReader
    private(set) var primary: UInt32?
    private(set) var types: [UInt32: String] = [:]
    /// Reference type → from item → to items, in order.
    private(set) var references: [String: [UInt32: [UInt32]]] = [:]
    private var locations: [UInt32: Location] = [:]
    private var properties: [BMFFBox] = []
    private var associations: [BMFFBox] = []
    private var itemData: (start: Int, end: Int)?

    private struct Location {
        /// 0: offsets in the file; 1: offsets in `idat`.
        let method: Int
        let extents: [(offset: Int, length: Int)]
    }

    /// False when `iloc` places some item's data in another item (construction method 2),
    /// which `data(of:)` does not follow.
    private(set) var followsLocations = true

    init(_ reader: ByteReader) throws(ServiceError) {
        self.reader = reader
        var topLevel = BMFFBoxes(reader, from: 0, to: reader.count)
        var meta: BMFFBox?
        while meta == nil, let box = try topLevel.next() {
            if box.type == "meta" { meta = box }
            if box.type == "mini" { throw reader.corrupt("the compact 'mini' HEIF layout is not supported") }
        }
        guard let meta else { throw reader.corrupt("no meta box") }
        try meta.require(meta.payload, 4)
        var children = BMFFBoxes(reader, from: meta.payload + 4, to: meta.end)
        while let child = try children.next() {
            switch child.type {
            case "pitm":
                let version = try reader.u8(child.payload)
                try child.require(child.payload + 4, version == 0 ? 2 : 4)
                primary = version == 0 ? UInt32(try reader.u16(child.payload + 4, .big)) : try reader.u32(child.payload + 4, .big)
            case "iinf": try readItemInfo(child)
            case "iloc": followsLocations = try readLocations(child)
            case "iref": try readReferences(child)
            case "idat": itemData = (child.payload, child.end)
            case "iprp": try readProperties(child)
            default: continue
            }
        }
    }

    /// The items whose `auxl` reference names `item` (its alpha plane, depth maps).
    func auxiliaryImages(of item: UInt32) -> [UInt32] {
        (references["auxl"] ?? [:]).filter { $0.value.contains(item) }.map(\.key).sorted()
    }

    /// The properties `ipma` binds to `item`, in its order. Properties live once in `ipco`
    /// and are bound by 1-based index, so a property is found by following that index, not
    /// by taking the first of its type, which is often a thumbnail's.
    func properties(of item: UInt32) throws(ServiceError) -> [BMFFBox] {
        var bound: [BMFFBox] = []
        for ipma in associations {
            guard let indexes = try Self.propertyIndexes(reader, ipma, item: item) else { continue }
            for index in indexes where index > 0 {
                guard index <= properties.count else { throw reader.corrupt("property index \(index) past ipco") }
                bound.append(properties[index - 1])
            }
        }
        return bound
    }

    func property(_ type: String, of item: UInt32) throws(ServiceError) -> BMFFBox? {
        try properties(of: item).first { $0.type == type }
    }

    /// Where the item's data lies in the file, when it is one extent; nil for layouts not
    /// read here (several extents, data in another item).
    func data(of item: UInt32) throws(ServiceError) -> (start: Int, end: Int)? {
        guard let location = locations[item], location.extents.count == 1 else { return nil }
        let extent = location.extents[0]
        var start = extent.offset
        var limit = reader.count
        if location.method == 1 {
            guard let itemData else { throw reader.corrupt("item data in a missing idat") }
            start = try reader.add(itemData.start, extent.offset)
            limit = itemData.end
        }
        // Length 0: to the end of what holds it.
        let end = extent.length == 0 ? limit : try reader.add(start, extent.length)
        guard start >= 0, start <= end, end <= limit else { throw reader.corrupt("item data past its container") }
        return (start, end)
    }

    private mutating func readItemInfo(_ iinf: BMFFBox) throws(ServiceError) {
        let version = try reader.u8(iinf.payload)
        var entries = BMFFBoxes(reader, from: iinf.payload + (version == 0 ? 6 : 8), to: iinf.end)
        while let infe = try entries.next() {
            guard infe.type == "infe", try reader.u8(infe.payload) >= 2 else { continue }
            let infeVersion = try reader.u8(infe.payload)
            let wide = infeVersion >= 3
            try infe.require(infe.payload + 4, wide ? 10 : 8)
            let id = wide ? try reader.u32(infe.payload + 4, .big) : UInt32(try reader.u16(infe.payload + 4, .big))
            types[id] = try reader.fourCC(infe.payload + (wide ? 10 : 8))
        }
    }

    /// False for the construction method this walk does not follow (2: data in another item).
    private mutating func readLocations(_ iloc: BMFFBox) throws(ServiceError) -> Bool {
        let version = Int(try reader.u8(iloc.payload))
        var at = iloc.payload + 4
        func field(_ size: Int) throws(ServiceError) -> Int {
            try iloc.require(at, size)
            defer { at += size }
            switch size {
            case 0: return 0
            case 2: return Int(try reader.u16(at, .big))
            case 4: return Int(try reader.u32(at, .big))
            case 8:
                guard let value = Int(exactly: try reader.u64(at, .big)) else { throw reader.corrupt("iloc offset overflow") }
                return value
            default: throw reader.corrupt("iloc field size \(size)")
            }
        }
        try iloc.require(at, 2)
        let sizes = try reader.u16(at, .big)
        at += 2
        let offsetSize = Int(sizes >> 12), lengthSize = Int(sizes >> 8 & 0xF), baseSize = Int(sizes >> 4 & 0xF)
        let indexSize = version >= 1 ? Int(sizes & 0xF) : 0
        let count = try field(version < 2 ? 2 : 4)
        for _ in 0..<count {
            let id = UInt32(try field(version < 2 ? 2 : 4))
            let method = version >= 1 ? try field(2) & 0xF : 0
            _ = try field(2)  // data reference index: 0, this file
            let base = try field(baseSize)
            let extentCount = try field(2)
            var extents: [(offset: Int, length: Int)] = []
            for _ in 0..<extentCount {
                _ = try field(indexSize)
                extents.append((try reader.add(base, try field(offsetSize)), try field(lengthSize)))
            }
            guard method <= 1 else { return false }
            locations[id] = Location(method: method, extents: extents)
        }
        return true
    }

    private mutating func readReferences(_ iref: BMFFBox) throws(ServiceError) {
        let wide = try reader.u8(iref.payload) != 0
        let idSize = wide ? 4 : 2
        var boxes = BMFFBoxes(reader, from: iref.payload + 4, to: iref.end)
        while let reference = try boxes.next() {
            func id(_ at: Int) throws(ServiceError) -> UInt32 {
                try reference.require(at, idSize)
                return wide ? try reader.u32(at, .big) : UInt32(try reader.u16(at, .big))
            }
            let from = try id(reference.payload)
            try reference.require(reference.payload + idSize, 2)
            let count = Int(try reader.u16(reference.payload + idSize, .big))
            var to: [UInt32] = []
            for index in 0..<count { to.append(try id(reference.payload + idSize + 2 + index * idSize)) }
            references[reference.type, default: [:]][from, default: []] += to
        }
    }

    private mutating func readProperties(_ iprp: BMFFBox) throws(ServiceError) {
        var boxes = BMFFBoxes(reader, from: iprp.payload, to: iprp.end)
        while let box = try boxes.next() {
            if box.type == "ipco" {
                var ipco = BMFFBoxes(reader, from: box.payload, to: box.end)
                while let property = try ipco.next() { properties.append(property) }
            } else if box.type == "ipma" {
                associations.append(box)
            }
        }
    }

    /// The property indexes `ipma` binds to `item`, or nil when this box does not mention it.
    ///
    /// Version 0 has 16-bit item ids, later versions 32-bit; flag bit 0 widens each
    /// association from 1 byte (essential bit + 7-bit index) to 2 (essential + 15-bit).
    /// Every read is checked against the box's end, so an inflated entry count stops at
    /// the box boundary instead of running on through the file.
    private static func propertyIndexes(_ reader: ByteReader, _ ipma: BMFFBox, item: UInt32) throws(ServiceError)
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
