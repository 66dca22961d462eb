import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// A GIF is its logical screen with the first frame at its offset, transparent elsewhere;
/// libgd 2.3.3 returned the frame alone, so the canvas (and the header's size) was lost.
@Suite struct GIFCanvasTests {
    static let transparent: UInt32 = 0x7F00_0000
    static let red: UInt32 = 0x00FF_0000
    static let blue: UInt32 = 0x0000_00FF

    static func decode(_ bytes: [UInt8]) throws -> GDImage {
        try ImageDecoder.decode(bytes, format: .gif, maxPixels: 1 << 30)
    }

    @Test func smallFrameAtAnOffsetIsPlacedOnTheScreen() throws {
        let bytes = GIFFixture.make(screen: (10, 8), frame: (5, 4, 4, 3)) { x, _ in x == 0 ? GIFFixture.blue : GIFFixture.red }
        let image = try Self.decode(bytes)
        #expect(image.width == 10 && image.height == 8)
        #expect(image.pixel(x: 5, y: 4) == Self.blue)
        #expect(image.pixel(x: 6, y: 4) == Self.red)
        #expect(image.pixel(x: 8, y: 6) == Self.red)
        for (x, y) in [(0, 0), (4, 4), (5, 3), (9, 4), (5, 7), (9, 7)] {
            #expect(image.pixel(x: x, y: y) >> 24 == 127, "(\(x), \(y)) is outside the frame")
        }
        let opaque = image.isOpaque
        #expect(!opaque)
    }

    @Test func reportedSizeIsTheHeadersLogicalScreen() throws {
        let bytes = GIFFixture.make(screen: (10, 8), frame: (5, 4, 4, 3)) { _, _ in GIFFixture.red }
        let inspected = try ImageIngest(maxUploadBytes: 1 << 20, maxPixels: 1 << 20).inspect(bytes)
        let header = try ImageHeader.read(bytes, format: .gif)
        #expect(inspected.size == ImageSize(width: header.width, height: header.height))
        #expect(inspected.size == ImageSize(width: 10, height: 8))
    }

    /// libgd refuses a frame that leaves the screen; the contract enlarges the canvas to
    /// contain a first frame (API.md, "Canvas of a GIF or WebP").
    @Test func firstFrameReachingPastTheScreenEnlargesTheCanvas() throws {
        let bytes = GIFFixture.make(screen: (6, 5), frame: (4, 3, 4, 3)) { x, y in
            x == 1 && y == 1 ? GIFFixture.blue : GIFFixture.red
        }
        let image = try Self.decode(bytes)
        #expect(image.width == 8 && image.height == 6)
        #expect(image.pixel(x: 4, y: 3) == Self.red)
        #expect(image.pixel(x: 5, y: 4) == Self.blue)
        #expect(image.pixel(x: 7, y: 5) == Self.red)
        #expect(image.pixel(x: 3, y: 3) == Self.transparent)
        #expect(image.pixel(x: 5, y: 2) == Self.transparent)
        #expect(try ImageHeader.read(bytes, format: .gif).width == 8)
    }

    /// Corpus `animated_transparent_loop_frames_out_of_bounds.gif` has one; Pillow shows it.
    @Test func firstFrameEntirelyOffTheScreenIsShownBesideIt() throws {
        let bytes = GIFFixture.make(screen: (4, 4), frame: (8, 0, 4, 4)) { _, _ in GIFFixture.red }
        let image = try Self.decode(bytes)
        #expect(image.width == 12 && image.height == 4)
        #expect(image.pixel(x: 8, y: 0) == Self.red && image.pixel(x: 7, y: 0) == Self.transparent)
    }

    @Test func firstFrameLargerThanTheScreenIsTheCanvas() throws {
        let bytes = GIFFixture.make(screen: (4, 4), frame: (0, 0, 5, 2)) { _, _ in GIFFixture.red }
        let image = try Self.decode(bytes)
        #expect(image.width == 5 && image.height == 4)
        #expect(image.pixel(x: 4, y: 1) == Self.red && image.pixel(x: 4, y: 2) == Self.transparent)
    }

    @Test func fullScreenFrameDecodesAsBefore() throws {
        let bytes = GIFFixture.make(screen: (3, 2), frame: (0, 0, 3, 2)) { x, y in UInt8((x + y) % 4) }
        let image = try Self.decode(bytes)
        let direct = try GDImage.decode(bytes, codec: .gif)
        #expect(image.width == 3 && image.height == 2)
        #expect(image.interleaved(alpha: true) == direct.interleaved(alpha: true))
        let opaque = image.isOpaque
        #expect(image.pixel(x: 1, y: 0) == Self.red && opaque)
    }

    @Test func structureReportsTheFirstFrame() throws {
        let bytes = GIFFixture.make(screen: (10, 8), frame: (5, 4, 4, 3)) { _, _ in GIFFixture.red }
        let layout = try GIFStructure.validate(bytes)
        #expect(layout.screenWidth == 10 && layout.screenHeight == 8)
        #expect(layout.firstFrame == GIFStructure.Rect(left: 5, top: 4, width: 4, height: 3))
        #expect(layout.canvas == ImageSize(width: 10, height: 8))
        #expect(layout.framePosition == (5, 4))
    }

    @Test func zeroScreenIsTheFirstFramesExtent() {
        let layout = GIFStructure.Layout(
            screenWidth: 0, screenHeight: 0, firstFrame: GIFStructure.Rect(left: 2, top: 2, width: 7, height: 5))
        #expect(layout.canvas == ImageSize(width: 9, height: 7))
        #expect(layout.framePosition == (2, 2))
    }

    /// Every valid GIF of the corpus comes out at the manifest's size, which is its screen.
    @Test(arguments: Corpus.entries.filter { $0.format == "gif" && $0.expect == "valid" }.map(\.file))
    func corpusGIFIsItsScreen(file: String) throws {
        let entry = try #require(Corpus.entries.first { $0.file == file })
        let image = try Self.decode(Corpus.bytes(file))
        #expect(image.width == entry.width && image.height == entry.height)
    }
}
