import ProgimageAPI

/// The pictures a decode of a HEIF/AVIF file's primary image allocates, at the sizes its
/// coded streams give, not the sizes its `ispe` boxes claim.
///
/// `ispe` is only what the container says. The AV1 or HEVC decoder allocates what the
/// stream's own sequence header (AV1) or sequence parameter set (HEVC) says, and libheif
/// 1.15 builds a grid at the grid's own output size: a 6 KB grid AVIF whose `ispe` said
/// 256×192 decoded at 20000×20000 (2.8 GB), a single AVIF with `ispe` cut to 1200×900 at
/// 12000×9000 past the pixel limit (a black-box probe; libheif 1.23 refuses both). So the
/// limit is checked on these sizes too, before any decode, and a grid whose tiles do not
/// cover its output (the rest came out black) is refused.
enum HEIFCodedPictures {
    /// Every picture the decode makes: the primary item's (a grid's output, an overlay's
    /// canvas, or a coded image's stream size), each coded image a grid or overlay is made
    /// of, and the alpha image that goes with it. Empty when the container uses a layout
    /// this walk does not know (libheif then decides alone, as before).
    static func sizes(in bytes: [UInt8]) throws(ServiceError) -> [ImageSize] {
        let reader = ByteReader(bytes, label: "heif")
        guard let items = try Items(reader), let primary = items.primary else { return [] }
        var sizes = try pictures(of: primary, in: items, depth: 0)
        for alpha in items.auxiliaryImages(of: primary) { sizes += try pictures(of: alpha, in: items, depth: 0) }
        return sizes
    }

    private static func pictures(of item: UInt32, in items: Items, depth: Int) throws(ServiceError) -> [ImageSize] {
        let reader = items.reader
        switch items.types[item] {
        case "av01", "hvc1":
            return [try codedSize(of: item, in: items).full]
        case "grid" where depth == 0:
            guard let data = try items.data(of: item) else { return [] }
            let grid = try Grid(reader, data)
            let tiles = items.references["dimg"]?[item] ?? []
            guard tiles.count == grid.rows * grid.columns else {
                throw reader.corrupt("a grid of \(grid.rows)×\(grid.columns) with \(tiles.count) tiles")
            }
            var tileSizes: [ImageSize] = []
            for tile in tiles {
                guard ["av01", "hvc1"].contains(items.types[tile]) else { throw reader.corrupt("a grid tile that is no coded image") }
                tileSizes.append(try codedSize(of: tile, in: items).shown)
            }
            // libheif places every tile at the first one's size; the tiles must cover the
            // output, and each column and row must start inside it.
            let tile = tileSizes[0]
            guard tileSizes.allSatisfy({ $0 == tile }),
                grid.columns * tile.width >= grid.output.width, grid.rows * tile.height >= grid.output.height,
                (grid.columns - 1) * tile.width < grid.output.width, (grid.rows - 1) * tile.height < grid.output.height
            else {
                throw reader.corrupt(
                    "grid tiles of \(tile) in \(grid.rows)×\(grid.columns) do not cover its \(grid.output) output")
            }
            return [grid.output]
        case "iovl" where depth == 0:
            guard let data = try items.data(of: item) else { return [] }
            var sizes = [try overlayCanvas(reader, data)]
            for layer in items.references["dimg"]?[item] ?? [] { sizes += try pictures(of: layer, in: items, depth: depth + 1) }
            return sizes
        default:
            throw reader.corrupt("the primary image is of an item type ('\(items.types[item] ?? "none")') this service does not decode")
        }
    }

    /// The coded stream's picture size (`full`, what the decoder allocates) and the size
    /// it shows (`shown`: HEVC's conformance window applied), which must be the item's
    /// `ispe` (libheif 1.15 went by the stream and dropped an alpha plane of another size).
    private static func codedSize(of item: UInt32, in items: Items) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
        let coded = try streamSize(of: item, in: items)
        if let ispe = try items.property("ispe", of: item) {
            try ispe.require(ispe.payload, 12)
            let declared = ImageSize(
                width: Int(try items.reader.u32(ispe.payload + 4, .big)), height: Int(try items.reader.u32(ispe.payload + 8, .big)))
            guard declared == coded.shown else {
                throw items.reader.corrupt("an image coded at \(coded.shown) whose container says \(declared)")
            }
        }
        return coded
    }

    private static func streamSize(of item: UInt32, in items: Items) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
        let reader = items.reader
        if items.types[item] == "hvc1" {
            guard let hvcC = try items.property("hvcC", of: item) else { throw reader.corrupt("an HEVC image without hvcC") }
            return try HEVCParameterSets.pictureSize(reader, hvcC)
        }
        // The AV1 sequence header: in av1C's configOBUs when the writer put it there, and
        // always at the head of the item's own data (AVIF requires it there).
        if let av1C = try items.property("av1C", of: item), let size = try AV1SequenceHeader.pictureSize(reader, from: av1C.payload + 4, to: av1C.end) {
            return (size, size)
        }
        guard let data = try items.data(of: item), let size = try AV1SequenceHeader.pictureSize(reader, from: data.start, to: data.end)
        else { throw reader.corrupt("an AV1 image without a sequence header") }
        return (size, size)
    }

    /// ImageGrid (ISO/IEC 23008-12 6.6.2.3.2): version, flags (bit 0: 32-bit sizes), rows
    /// and columns less one, output width and height.
    private struct Grid {
        let rows: Int
        let columns: Int
        let output: ImageSize

        init(_ reader: ByteReader, _ data: (start: Int, end: Int)) throws(ServiceError) {
            let wide = try reader.u8(data.start + 1) & 1 == 1
            guard data.end - data.start >= (wide ? 12 : 8) else { throw reader.corrupt("grid description too short") }
            rows = Int(try reader.u8(data.start + 2)) + 1
            columns = Int(try reader.u8(data.start + 3)) + 1
            let width = wide ? Int(try reader.u32(data.start + 4, .big)) : Int(try reader.u16(data.start + 4, .big))
            let height = wide ? Int(try reader.u32(data.start + 8, .big)) : Int(try reader.u16(data.start + 6, .big))
            output = ImageSize(width: width, height: height)
        }
    }

    /// ImageOverlay: version, flags (bit 0: 32-bit sizes), four 16-bit fill values, then
    /// the canvas's width and height.
    private static func overlayCanvas(_ reader: ByteReader, _ data: (start: Int, end: Int)) throws(ServiceError) -> ImageSize {
        let wide = try reader.u8(data.start + 1) & 1 == 1
        guard data.end - data.start >= (wide ? 18 : 14) else { throw reader.corrupt("overlay description too short") }
        let width = wide ? Int(try reader.u32(data.start + 10, .big)) : Int(try reader.u16(data.start + 10, .big))
        let height = wide ? Int(try reader.u32(data.start + 14, .big)) : Int(try reader.u16(data.start + 12, .big))
        return ImageSize(width: width, height: height)
    }
}

/// The items of a HEIF `meta` box, as far as finding each one's type, data, references
/// and properties goes.
private struct Items {
    let reader: ByteReader
    var primary: UInt32?
    var types: [UInt32: String] = [:]
    /// Reference type → from item → to items, in order.
    var references: [String: [UInt32: [UInt32]]] = [:]
    private var locations: [UInt32: Location] = [:]
    private var properties: [BMFFBox] = []
    private var associations: [BMFFBox] = []
    private var itemData: (start: Int, end: Int)?

    private struct Location {
        /// 0: offsets in the file; 1: offsets in `idat`.
        let method: Int
        let extents: [(offset: Int, length: Int)]
    }

    /// Nil when there is no `meta` box or it uses a layout not read here.
    init?(_ reader: ByteReader) throws(ServiceError) {
        self.reader = reader
        var topLevel = BMFFBoxes(reader, from: 0, to: reader.count)
        var meta: BMFFBox?
        while meta == nil, let box = try topLevel.next() {
            if box.type == "meta" { meta = box }
        }
        guard let meta else { return nil }
        try meta.require(meta.payload, 4)
        var children = BMFFBoxes(reader, from: meta.payload + 4, to: meta.end)
        while let child = try children.next() {
            switch child.type {
            case "pitm":
                let version = try reader.u8(child.payload)
                try child.require(child.payload + 4, version == 0 ? 2 : 4)
                primary = version == 0 ? UInt32(try reader.u16(child.payload + 4, .big)) : try reader.u32(child.payload + 4, .big)
            case "iinf": try readItemInfo(child)
            case "iloc": guard try readLocations(child) else { return nil }
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

    func property(_ type: String, of item: UInt32) throws(ServiceError) -> BMFFBox? {
        for ipma in associations {
            for index in try ImageHeader.propertyIndexes(reader, ipma, item: item) ?? []
            where index > 0 && index <= properties.count && properties[index - 1].type == type {
                return properties[index - 1]
            }
        }
        return nil
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
}
