import ProgimageAPI
import ProgimageCore
import Testing

/// Every corpus file the service should accept sniffs as its manifest format and reads its stored size.
@Suite struct CorpusHeaderTests {
    static let byFile = Dictionary(uniqueKeysWithValues: Corpus.entries.map { ($0.file, $0) })

    /// Valid files first, then the lenient and exotic ones wherever a header can be read.
    static let acceptedFiles = Corpus.entries.filter { $0.expect != "invalid" }.map(\.file)

    /// Where the header's size differs from the manifest's `stored_*` (or the manifest has none).
    static let sizeOverrides: [String: (width: Int, height: Int)] = [
        // ispe holds the coded 452×462 (HEVC codes even sizes); a clap property crops it to
        // 451×461, which the manifest reports. Stored size is before clap, and the
        // decoder allocates the coded size, so 452×462 is what the gate must see.
        "heif/libheif/rainbow-451x461.heic": (452, 462),
        // The manifest has no size where no local decoder read the file; the header does.
        "bmp/bmpsuite/good/rgb32bf.bmp": (127, 64),
        "bmp/bmpsuite/questionable/rgb24jpeg.bmp": (127, 64),
        "bmp/bmpsuite/questionable/rgb24png.bmp": (127, 64),
        "bmp/bmpsuite/questionable/rgba64.bmp": (127, 64),
        "bmp/bmpsuite/questionable/pal8oversizepal.bmp": (127, 64),
        "jpeg/libjpeg-turbo/monkey12.jpg": (149, 227),  // SOF1, 12-bit: `file` agrees on 149×227
        "heif/libheif/uncompressed_comp_RGB.heif": (30, 20),
        "png/libpng-crashers/huge_iCCP_chunk.png": (1, 1),
        "png/libpng-crashers/huge_tEXt_chunk.png": (1, 1),
    ]

    /// Accepted-or-4xx files whose header this reader refuses, and why that is the right answer.
    static let refusals: [String: String] = [
        "avif/libheif/simple_osm_tile_alpha.avif": "compact 'mini' layout: no meta/ispe to read",
        "heif/libheif/lightning_mini.heif": "compact 'mini' layout: no meta/ispe to read",
        "png/libpng-crashers/bad_iCCP.png": "IHDR CRC mismatch, fatal to libpng as well",
    ]

    /// The format the manifest's sniffed name stands for; every HEIF file in the corpus is HEVC
    /// or uncompressed, none AV1, so "heif" is always HEIC here.
    static func format(manifestName: String) -> ImageFormat? {
        switch manifestName {
        case "jpeg": .jpg
        case "heif": .heic
        default: ImageFormat(rawValue: manifestName)
        }
    }

    @Test(arguments: acceptedFiles)
    func sniffsAndReadsStoredSize(file: String) throws {
        let entry = try #require(Self.byFile[file])
        let bytes = Corpus.bytes(file)
        let expected = try #require(Self.format(manifestName: entry.format))
        #expect(FormatSniffer.sniff(bytes) == expected)

        if let reason = Self.refusals[file] {
            #expect(throws: ServiceError.self, "\(reason)") { try ImageHeader.read(bytes, format: expected) }
            return
        }
        let size = Self.sizeOverrides[file] ?? entry.stored_width.flatMap { w in entry.stored_height.map { (w, $0) } }
        let (width, height) = try #require(size, "no stored size in the manifest: add a reviewed override")
        let header = try ImageHeader.read(bytes, format: expected)
        #expect(header.format == expected)
        #expect(header.width == width)
        #expect(header.height == height)
    }

    @Test func everyOverrideAndRefusalNamesACorpusFile() {
        for file in Array(Self.sizeOverrides.keys) + Array(Self.refusals.keys) {
            #expect(Self.byFile[file] != nil, "\(file) is not in the manifest")
        }
    }
}
