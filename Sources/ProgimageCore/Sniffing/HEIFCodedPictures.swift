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
    static func sizes(in items: HEIFItems) throws(ServiceError) -> [ImageSize] {
        guard items.followsLocations, let primary = items.primary else { return [] }
        var sizes = try pictures(of: primary, in: items, depth: 0)
        for alpha in items.auxiliaryImages(of: primary) { sizes += try pictures(of: alpha, in: items, depth: 0) }
        return sizes
    }

    private static func pictures(of item: UInt32, in items: HEIFItems, depth: Int) throws(ServiceError) -> [ImageSize] {
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
    private static func codedSize(of item: UInt32, in items: HEIFItems) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
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

    private static func streamSize(of item: UInt32, in items: HEIFItems) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
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
