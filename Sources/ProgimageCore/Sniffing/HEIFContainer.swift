import ProgimageAPI

/// A HEIF or AVIF file's container, walked once (`HEIFItems`) and asked what a decode needs
/// before libheif reads the file: the primary image's stored size (`ispe`), the pictures
/// its decode allocates (`HEIFCodedPictures`), whether it is monochrome, and its
/// transformative properties. (Each question had walked the `meta` box again: four walks a
/// decode.) Each decides what a container it cannot read means for it.
struct HEIFContainer {
    let reader: ByteReader
    /// The walk, or why it failed.
    private let walk: Result<HEIFItems, ServiceError>

    /// `label` names the format in error messages.
    init(_ bytes: [UInt8], label: String = "heif") {
        let reader = ByteReader(bytes, label: label)
        self.reader = reader
        walk = Result { () throws(ServiceError) in try HEIFItems(reader) }
    }

    /// The `ispe` (image spatial extents) property of the primary item.
    func header(format: ImageFormat) throws(ServiceError) -> ImageHeader {
        for property in try primaryProperties() where property.type == "ispe" {
            // FullBox header (4), then 32-bit width and height.
            try property.require(property.payload, 12)
            let width = Int(try reader.u32(property.payload + 4, .big))
            let height = Int(try reader.u32(property.payload + 8, .big))
            return try ImageHeader(format: format, width: width, height: height)
        }
        throw reader.corrupt("the primary item has no ispe property")
    }

    /// Every picture the decode makes (`HEIFCodedPictures`); empty for a layout the walk
    /// does not follow, a container it cannot read throws.
    func codedPictureSizes() throws(ServiceError) -> [ImageSize] {
        try HEIFCodedPictures.sizes(in: walk.get())
    }

    /// Whether the primary item's codec configuration says monochrome: `av1C`'s mono_chrome
    /// bit, or `hvcC`'s chroma_format_idc 0. libheif 1.15 turns such an image to RGB
    /// without expanding a limited range, so it came out washed out (12–239 for a
    /// picture the same file in colour shows 0–255); the decoder needs to know.
    var isMonochrome: Bool {
        guard let properties = try? primaryProperties() else { return false }
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
    var transforms: [HEIFTransform]? {
        guard let properties = try? primaryProperties() else { return nil }
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

    /// The format the primary item's coding makes the file: `hvc1` HEIC, `av01` AVIF; a
    /// grid or overlay is coded as the images it is made of (`dimg`). Nil when the items
    /// cannot be read or are coded otherwise, for the brands to decide.
    var codedFormat: ImageFormat? {
        guard let items = try? walk.get(), let primary = items.primary else { return nil }
        func format(_ type: String?) -> ImageFormat? {
            switch type {
            case "hvc1": .heic
            case "av01": .avif
            default: nil
            }
        }
        if let coded = format(items.types[primary]) { return coded }
        let parts = items.references["dimg"]?[primary] ?? []
        return parts.lazy.compactMap { format(items.types[$0]) }.first
    }

    /// The properties `ipma` binds to the primary item (`pitm`), in its order.
    ///
    /// A HEIF/AVIF file is a tree of ISO BMFF boxes holding several images (thumbnails,
    /// alpha planes, grid tiles); only the primary item, named by `pitm`, is the picture.
    /// Properties live once in `ipco` and are bound to items by 1-based index in `ipma`,
    /// so a property is found by following that index, not by taking the first of its
    /// type, which is often a thumbnail's. `ispe` is the coded size: `clap` and `irot` are
    /// applied later and do not change what a decoder allocates.
    private func primaryProperties() throws(ServiceError) -> [BMFFBox] {
        guard FormatSniffer.heifFormat(reader) != nil else { throw reader.corrupt("no HEIF ftyp box at the start") }
        let items = try walk.get()
        guard let primary = items.primary else { throw reader.corrupt("no primary item (pitm)") }
        return try items.properties(of: primary)
    }
}
