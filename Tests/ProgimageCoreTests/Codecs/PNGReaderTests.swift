import GD
import PNG
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Our libdeflate PNG reader takes the 8-bit RGB(A) files it can read whole and leaves the
/// rest to libpng. Over every PNG in the corpus (PngSuite, the libpng crashers), and over
/// damaged copies of a file it takes, what it accepts must be exactly what libpng reads,
/// and it must accept nothing libpng refuses.
@Suite struct PNGReaderTests {
    static let files = Corpus.entries.filter { $0.format == "png" }.map(\.file)

    static func libpngPixels(_ bytes: [UInt8]) -> [UInt8]? {
        (try? GDImage.decode(bytes, codec: .png))?.interleaved(alpha: true)
    }

    static func ourPixels(_ pixels: PNGReader.Pixels) throws -> [UInt8] {
        try GDImage(
            width: pixels.width, height: pixels.height, pixels: pixels.bytes, stride: pixels.width * pixels.channels,
            layout: pixels.channels == 4 ? .rgba : .rgb
        ).interleaved(alpha: true)
    }

    @Test func corpusFilesReadAsLibpngReadsThem() throws {
        #expect(Self.files.count > 100)
        var taken = 0
        for file in Self.files {
            let bytes = Corpus.bytes(file)
            guard let ours = PNGReader.decode(bytes) else { continue }
            taken += 1
            let reference = try #require(Self.libpngPixels(bytes), "\(file): taken here, refused by libpng")
            #expect(try Self.ourPixels(ours) == reference, "\(file)")
        }
        // PngSuite's 8-bit RGB and RGBA files, each filter type among them.
        #expect(taken >= 10, "only \(taken) files taken")
    }

    /// Every single-byte change and every truncation of a small RGBA file: taken only
    /// when libpng takes it too, and then read the same.
    @Test func damagedCopiesAreNeverReadDifferently() throws {
        let image = try EncoderRoundTripTests.gradient(width: 19, height: 11, alpha: true)
        let png = try ImageEncoder.encode(image, as: .png, quality: nil)
        var variants: [[UInt8]] = (1..<png.count).map { Array(png.prefix($0)) }
        for at in 0..<png.count {
            var copy = png
            copy[at] ^= 0x5A
            variants.append(copy)
        }
        var taken = 0
        for bytes in variants {
            guard let ours = PNGReader.decode(bytes) else { continue }
            taken += 1
            let reference = try #require(Self.libpngPixels(bytes), "taken here, refused by libpng")
            #expect(try Self.ourPixels(ours) == reference)
        }
        // Our writer emits no ancillary chunk, so every change breaks a CRC, the zlib
        // stream or a length, and no variant is taken here.
        #expect(taken == 0)
        #expect(PNGReader.decode(png) != nil)
    }
}
