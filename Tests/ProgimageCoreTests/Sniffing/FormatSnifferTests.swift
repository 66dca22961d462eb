import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct FormatSnifferTests {
    @Test(arguments: [
        (HeaderBytes.ascii("II*\0"), ImageFormat.tiff),
        (HeaderBytes.ascii("MM\0*"), .tiff),
        (HeaderBytes.ascii("II+\0"), .tiff),
        (HeaderBytes.ascii("MM\0+"), .tiff),
        (HeaderBytes.ascii("GIF87a"), .gif),
        (HeaderBytes.ascii("GIF89a"), .gif),
        (HeaderBytes.ascii("BM"), .bmp),
        (HeaderBytes.ascii("RIFF") + [0, 0, 0, 0] + HeaderBytes.ascii("WEBP"), .webp),
        ([0xFF, 0xD8, 0xFF], .jpg),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
    ])
    func signature(bytes: [UInt8], format: ImageFormat) {
        #expect(FormatSniffer.sniff(bytes) == format)
        #expect(FormatSniffer.sniff(bytes + [0x00, 0x42]) == format)
    }

    @Test(arguments: [
        [UInt8](),
        [0xFF],
        [0xFF, 0xD8],  // SOI without the next marker's 0xFF
        HeaderBytes.ascii("GIF88a"),
        HeaderBytes.ascii("GIF8"),
        HeaderBytes.ascii("RIFF") + [0, 0, 0, 0] + HeaderBytes.ascii("WAVE"),
        HeaderBytes.ascii("RIFF") + [0, 0, 0, 0] + HeaderBytes.ascii("WEB"),
        HeaderBytes.ascii("II*"),
        HeaderBytes.ascii("IM*\0"),
        HeaderBytes.ascii("B"),
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A],
        HeaderBytes.ascii("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
        HeaderBytes.ascii("%PDF-1.7"),
    ])
    func noSignature(bytes: [UInt8]) {
        #expect(FormatSniffer.sniff(bytes) == nil)
    }

    /// Any one of PNG's eight signature bytes wrong is not PNG (the signature exists to catch transfer damage).
    @Test func everyPNGSignatureByteMatters() {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        for index in 0..<8 {
            var damaged = signature
            damaged[index] ^= 0x20
            #expect(FormatSniffer.sniff(damaged) == nil, "byte \(index)")
        }
    }

    @Test(arguments: [
        (HeaderBytes.ftyp(major: "avif", compatible: ["mif1", "miaf"]), ImageFormat?.some(.avif)),
        (HeaderBytes.ftyp(major: "avis", compatible: []), .avif),
        (HeaderBytes.ftyp(major: "mif1", compatible: ["avif", "mif1"]), .avif),
        (HeaderBytes.ftyp(major: "msf1", compatible: ["avis"]), .avif),
        (HeaderBytes.ftyp(major: "miaf", compatible: ["avif"]), .avif),
        (HeaderBytes.ftyp(major: "heic", compatible: ["mif1"]), .heic),
        (HeaderBytes.ftyp(major: "heix", compatible: []), .heic),
        (HeaderBytes.ftyp(major: "hevc", compatible: []), .heic),
        (HeaderBytes.ftyp(major: "heim", compatible: []), .heic),
        (HeaderBytes.ftyp(major: "mif1", compatible: ["heic"]), .heic),
        (HeaderBytes.ftyp(major: "msf1", compatible: ["hevc"]), .heic),
        (HeaderBytes.ftyp(major: "mif1", compatible: []), .heic),
        (HeaderBytes.ftyp(major: "mif3", minor: HeaderBytes.ascii("avif"), compatible: []), .avif),
        (HeaderBytes.ftyp(major: "mif3", minor: HeaderBytes.ascii("heic"), compatible: []), .heic),
        (HeaderBytes.ftyp(major: "isom", compatible: ["iso2", "mp41"]), nil),
        (HeaderBytes.ftyp(major: "qt  ", compatible: []), nil),
        (HeaderBytes.ftyp(major: "isom", compatible: ["avif"]), nil),  // a video that merely lists avif
    ])
    func isoBMFFBrands(bytes: [UInt8], format: ImageFormat?) {
        #expect(FormatSniffer.sniff(bytes) == format)
    }

    /// The primary item's coding names the format, whatever the brands claim: an AV1
    /// picture under a `heic` major brand is an AVIF, an HEVC grid (libheif's example, its
    /// primary item a `grid` of `hvc1` tiles) under `avif` a HEIC.
    @Test(arguments: [
        ("avif/libheif/example.avif", "heic", ImageFormat.avif),
        ("avif/libheif/example.avif", "heix", .avif),
        ("heif/libheif/example.heic", "avif", .heic),
        ("heif/libheif/example.heic", "mif1", .heic),
    ])
    func codingOutranksTheBrands(file: String, major: String, format: ImageFormat) {
        var bytes = Corpus.bytes(file)
        bytes.replaceSubrange(8..<12, with: HeaderBytes.ascii(major))
        #expect(FormatSniffer.sniff(bytes) == format)
    }

    /// Compatible brands past the ftyp box's declared size belong to the next box, not to ftyp.
    @Test func brandsAreReadOnlyInsideFtyp() {
        let bytes = HeaderBytes.ftyp(major: "mif1", compatible: []) + HeaderBytes.ascii("avif")
        #expect(FormatSniffer.sniff(bytes) == .heic)
    }

    @Test func ftypTooShortIsNotHEIF() {
        let bytes = HeaderBytes.be32(12) + HeaderBytes.ascii("ftypavif")
        #expect(FormatSniffer.sniff(bytes) == nil)
    }
}
