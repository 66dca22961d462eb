public import ProgimageAPI

/// Names an upload's format from its leading bytes.
///
/// Clients mislabel files (a PNG called `photo.jpg`, a HEIC sent as
/// `application/octet-stream`), so the bytes are the only evidence trusted; anything
/// without a known signature is refused with 415 before a decoder sees it.
public enum FormatSniffer {
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// A bare JPEG XL codestream, and the ISO BMFF container's `JXL ` signature box.
    static let jxlCodestreamSignature: [UInt8] = [0xFF, 0x0A]
    static let jxlContainerSignature: [UInt8] = [0, 0, 0, 0x0C, 0x4A, 0x58, 0x4C, 0x20, 0x0D, 0x0A, 0x87, 0x0A]
    static let tiffSignatures: [[UInt8]] = [
        [0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A],  // classic, little/big endian
        [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B],  // BigTIFF
    ]

    /// The format whose signature starts these bytes; nil when none matches (→ 415). Never looks at filenames.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        let reader = ByteReader(bytes, label: "sniff")
        if reader.matches(jpegSignature) { return .jpg }
        if reader.matches(pngSignature) { return .png }
        if reader.matches("GIF87a") || reader.matches("GIF89a") { return .gif }
        if reader.matches("RIFF") && reader.matches("WEBP", at: 8) { return .webp }
        if reader.matches("BM") { return .bmp }
        if tiffSignatures.contains(where: { reader.matches($0) }) { return .tiff }
        if reader.matches(jxlCodestreamSignature) || reader.matches(jxlContainerSignature) { return .jxl }
        guard let branded = heifFormat(reader) else { return nil }
        return HEIFContainer(bytes).codedFormat ?? branded
    }

    /// AVIF or HEIC from an ISO BMFF `ftyp` box at offset 0, or nil for other BMFF files (MP4, MOV).
    /// The brands are what a file says of itself; `sniff` asks the primary item's coding
    /// first (an AV1 picture under a `heic` major brand is an AVIF), and the brands only
    /// when the items cannot be read.
    ///
    /// The major brand decides when it is specific; the generic MIAF/HEIF brands
    /// (`mif1`, `msf1`, `miaf`) defer to the compatible brands, because encoders such as
    /// libheif write `mif1` as the major brand of both AVIF and HEIC files.
    static func heifFormat(_ reader: ByteReader) -> ImageFormat? {
        guard reader.matches("ftyp", at: 4), let size = try? reader.u32(0, .big), size >= 16 else { return nil }
        guard let major = try? reader.fourCC(8) else { return nil }
        if avifBrands.contains(major) { return .avif }
        if heicBrands.contains(major) { return .heic }
        guard genericBrands.contains(major) else { return nil }

        var brands: [String] = []
        // The compact 'mini' format (major brand mif3) stores its one brand where minor_version would be.
        if major == "mif3", let minor = try? reader.fourCC(12) { brands.append(minor) }
        // Real files list a handful of brands; the cap keeps a forged 4 GB ftyp from making sniffing linear in the upload.
        var offset = 16
        let end = min(Int(size), 16 + 4 * maximumBrands)
        while offset + 4 <= end, let brand = try? reader.fourCC(offset) {
            brands.append(brand)
            offset += 4
        }
        if brands.contains(where: avifBrands.contains) { return .avif }
        return .heic
    }

    private static let maximumBrands = 256
    private static let avifBrands: Set<String> = ["avif", "avis"]
    private static let heicBrands: Set<String> = ["heic", "heix", "hevc", "hevx", "heim", "heis"]
    private static let genericBrands: Set<String> = ["mif1", "msf1", "miaf", "mif2", "mif3"]
}
