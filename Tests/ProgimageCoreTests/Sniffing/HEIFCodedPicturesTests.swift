import Foundation
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// What a HEIF/AVIF decode allocates, read from the coded streams: the corpus's real files
/// are coded at the size their containers state, and a grid is its output.
@Suite struct HEIFCodedPicturesTests {
    @Test(arguments: [
        ("avif/link-u/fox.profile0.8bpc.yuv420.avif", [ImageSize(width: 1204, height: 800)]),
        ("avif/link-u/fox.profile0.8bpc.yuv420.odd-width.odd-height.avif", [ImageSize(width: 1203, height: 799)]),
        // Decoded at 456×464 (whole 8-px coding blocks), which its conformance window crops
        // to its ispe's 452×462, and its clap to the 451×461 shown.
        ("heif/libheif/rainbow-451x461.heic", [ImageSize(width: 456, height: 464)]),
    ])
    func codedImagesAreTheirStatedSize(file: String, sizes: [ImageSize]) throws {
        let coded = try HEIFContainer(Corpus.bytes(file)).codedPictureSizes()
        #expect(coded == sizes, "\(coded)")
    }

    @Test func aGridIsItsOutput() throws {
        let url = Corpus.packageRoot.appendingPathComponent("tests/integration/fixtures/grid-2x2.avif")
        #expect(try HEIFContainer([UInt8](Data(contentsOf: url))).codedPictureSizes() == [ImageSize(width: 256, height: 192)])
    }

    @Test func aStreamLargerThanItsIspeIsRefused() throws {
        var bytes = Corpus.bytes("heif/libheif/rainbow-451x461.heic")
        let ispe = try #require(bytes.indices.first { bytes[$0..<$0 + 4].elementsEqual("ispe".utf8) })
        bytes.replaceSubrange(ispe + 8..<ispe + 16, with: [0, 0, 0, 45, 0, 0, 0, 46])
        #expect(throws: ServiceError.self) { try HEIFContainer(bytes).codedPictureSizes() }
    }
}
