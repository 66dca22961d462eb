import ProgimageAPI
import ProgimageCore
import Testing

/// Files the service must reject: each is refused at the signature, refused at the header,
/// or (when only the pixel data is damaged) passes the header and is left to the decoder.
@Suite struct InvalidCorpusTests {
    enum Outcome: Sendable {
        /// No known signature: 415.
        case noSignature
        /// Signature known, header malformed: 422 corrupt_image before any decoding.
        case headerRefused
        /// Header intact; the damage is in the data, which only a decoder sees.
        case headerReads(Int, Int)
    }

    static let outcomes: [String: Outcome] = [
        "png/pngsuite/xs1n0g01.png": .noSignature,
        "png/pngsuite/xs2n0g01.png": .noSignature,
        "png/pngsuite/xs4n0g01.png": .noSignature,
        "png/pngsuite/xs7n0g01.png": .noSignature,
        "png/pngsuite/xcrn0g04.png": .noSignature,
        "png/pngsuite/xlfn0g04.png": .noSignature,
        "png/pngsuite/xc1n0g08.png": .headerRefused,  // colour type 1
        "png/pngsuite/xc9n2c08.png": .headerRefused,  // colour type 9
        "png/pngsuite/xd0n2c08.png": .headerRefused,  // bit depth 0
        "png/pngsuite/xd3n2c08.png": .headerRefused,  // bit depth 3
        "png/pngsuite/xd9n2c08.png": .headerRefused,  // bit depth 99
        "png/pngsuite/xhdn0g08.png": .headerRefused,  // IHDR CRC
        "png/pngsuite/xcsn0g01.png": .headerReads(32, 32),  // IDAT checksum
        "png/pngsuite/xdtn0g01.png": .headerReads(32, 32),  // no IDAT
        "png/libpng-crashers/badadler.png": .headerReads(1, 1),
        "png/libpng-crashers/badcrc.png": .headerReads(1, 1),  // the bad CRC is not IHDR's
        "png/libpng-crashers/huge_IDAT.png": .headerReads(2, 2),
        "gif/libgd-gif-conformance/zero_dimensions.gif": .headerRefused,
        "bmp/bmpsuite/bad/badwidth.bmp": .headerRefused,
        "bmp/bmpsuite/bad/badheadersize.bmp": .headerRefused,
        "bmp/bmpsuite/bad/shortfile.bmp": .headerReads(127, 64),  // the pixel array is cut short
        // 3,000,000 × 2,000,000 from a 54-byte header: read without allocating, so the caller's
        // pixel limit answers image_too_large before a decoder tries to.
        "bmp/bmpsuite/bad/reallybig.bmp": .headerReads(3_000_000, 2_000_000),
    ]

    @Test(arguments: Corpus.entries.filter { $0.expect == "invalid" }.map(\.file))
    func rejected(file: String) throws {
        let outcome = try #require(Self.outcomes[file], "invalid corpus file without a stated outcome")
        let bytes = Corpus.bytes(file)
        let sniffed = FormatSniffer.sniff(bytes)
        switch outcome {
        case .noSignature:
            #expect(sniffed == nil)
        case .headerRefused:
            let format = try #require(sniffed)
            let error = #expect(throws: ServiceError.self) { try ImageHeader.read(bytes, format: format) }
            #expect(error?.code == .corruptImage)
        case .headerReads(let width, let height):
            let format = try #require(sniffed)
            let header = try ImageHeader.read(bytes, format: format)
            #expect(header.width == width && header.height == height)
        }
    }
}
