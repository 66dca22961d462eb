import HEIF
import JXL
import ProgimageAPI

/// Whether a file declares an alpha channel, whatever its pixels hold: `.auto` chooses
/// png "when the original has an alpha channel" (API.md), and an RGBA PNG whose every
/// pixel is opaque still has one. Read from the header: PNG colour types 4 and 6 or a
/// `tRNS` chunk; WebP's VP8X alpha flag or VP8L alpha hint; TIFF's ExtraSamples alpha;
/// an AVIF's or HEIC's auxiliary alpha image (libheif reads the container); JPEG XL's
/// alpha bits. For the others (GIF, BMP), transparency in the decoded pixels decides.
enum DeclaredAlphaChannel {
    static func isDeclared(in bytes: [UInt8], format: ImageFormat) -> Bool {
        let reader = ByteReader(bytes, label: format.rawValue)
        switch format {
        case .png:
            // IHDR is the first chunk: its colour type is the tenth byte of its data.
            guard let colourType = try? reader.u8(FormatSniffer.pngSignature.count + 8 + 9) else { return false }
            return colourType == 4 || colourType == 6 || PNGChunks.first("tRNS", in: reader) != nil
        case .webp:
            let data = 12 + 8
            if reader.matches("VP8X", at: 12) { return ((try? reader.u8(data)) ?? 0) & 0x10 != 0 }
            if reader.matches("VP8L", at: 12) { return ((try? reader.u32(data + 1, .little)) ?? 0) >> 28 & 1 != 0 }
            return false
        case .tiff:
            // ExtraSamples (338) whose first sample is associated (1) or unassociated (2) alpha.
            guard let tiff = try? TIFFStructure(reader, strict: false), let entries = try? tiff.firstIFDEntries(strict: false)
            else { return false }
            guard let extra = entries.first(where: { (try? tiff.tag(of: $0)) == 338 }),
                let kind = try? tiff.value(of: extra, followingSpill: true, long8: false)
            else { return false }
            return kind == 1 || kind == 2
        case .avif, .heic:
            return HEIFDecoder.primaryDeclaresAlpha(bytes)
        case .jxl:
            return (try? JXLDecoder.size(of: bytes))?.hasAlpha ?? false
        default:
            return false
        }
    }
}
