import Foundation
import Testing

import GD
import ProgimageAPI
@testable import ProgimageCore

/// Same bytes, same pixels: every decoder, on seeded mutations of real files, either
/// refuses twice with the same error or gives the same pixels twice, with the heap
/// scribbled with a different pattern before each decode so that a buffer the decoder
/// never wrote would show as a difference.
@Suite struct DecodeDeterminismTests {
    /// Small valid corpus files, one or more per decoder path.
    static let seeds: [(String, [UInt8])] = [
        "jpeg/libjpeg-turbo/testorig.jpg", "jpeg/libjpeg-turbo/testimgint.jpg",
        "png/pngsuite/basn2c08.png", "png/pngsuite/basn6a08.png", "png/pngsuite/basi3p02.png",
        "gif/gif-test-suite/animated_transparent_loop.gif", "webp/libwebp/test.webp",
        "bmp/bmpsuite/good/rgb24.bmp", "bmp/bmpsuite/good/rgb16-565.bmp", "tiff/libtiffpic/strike.tif",
        "avif/link-u/kimono.rotate90.avif",
    ].compactMap { file in Corpus.entries.contains { $0.file == file } ? (file, Corpus.bytes(file)) : nil }
        // No JPEG XL in the public corpus: one written by our encoder (libjxl) stands in.
        + [("generated 40×24 jxl", Self.generatedJXL())]

    static func generatedJXL() -> [UInt8] {
        (try? ImageEncoder.encode(EncoderRoundTripTests.gradient(width: 40, height: 24, alpha: true), as: .jxl, quality: 70))
            ?? []
    }

    enum Outcome: Equatable {
        case refused(ErrorCode)
        case pixels(width: Int, height: Int, rgba: [UInt8])
    }

    static func decode(_ bytes: [UInt8], scribble: UInt8) -> Outcome {
        // Freed just before the decode: malloc hands the same pages back to it.
        var scratch = [UInt8](repeating: scribble, count: 8 << 20)
        scratch[scratch.count - 1] = scribble
        withExtendedLifetime(scratch) {}
        scratch = []
        guard let format = FormatSniffer.sniff(bytes) else { return .refused(.unsupportedMediaType) }
        do {
            let image = try ImageDecoder.decode(bytes, format: format, maxPixels: 4_000_000)
            return .pixels(width: image.width, height: image.height, rgba: image.interleaved(alpha: true))
        } catch {
            return .refused(error.code)
        }
    }

    /// A deflate strip that inflates past its end (`Fixtures/README.md`): libtiff left the
    /// strip's last 23 pixels unwritten.
    @Test func aDeflateStripThatOverrunsDecodesTheSameTwice() throws {
        let url = Corpus.packageRoot.appendingPathComponent("Tests/ProgimageCoreTests/Fixtures/deflate-strip-overrun.tif")
        let bytes = try [UInt8](Data(contentsOf: url))
        let first = Self.decode(bytes, scribble: 0x5A)
        #expect(first == Self.decode(bytes, scribble: 0xA5))
        #expect(first == Self.decode(bytes, scribble: 0x00))
    }

    @Test func seedsAreThere() {
        #expect(Self.seeds.count == 12 && Self.seeds.allSatisfy { !$0.1.isEmpty })
    }

    @Test func mutatedFilesDecodeTheSameTwice() {
        var rng = SeededGenerator(seed: 0x5EED_0D0D)
        var decoded = 0
        for iteration in 0..<480 {
            let (file, seed) = Self.seeds[iteration % Self.seeds.count]
            var bytes = seed
            // A few flipped bytes past the first 16 (so that most keep their signature),
            // sometimes a truncation too.
            for _ in 0..<Int.random(in: 1...6, using: &rng) where bytes.count > 16 {
                bytes[Int.random(in: 16..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng), bytes.count > 64 {
                bytes.removeLast(Int.random(in: 1..<bytes.count / 2, using: &rng))
            }
            let first = Self.decode(bytes, scribble: 0x5A)
            let second = Self.decode(bytes, scribble: 0xA5)
            if case .pixels = first { decoded += 1 }
            if first != second {
                Issue.record("iteration \(iteration), mutated \(file): two decodes of the same bytes differ")
                return
            }
        }
        // The mutations must leave some files decodable, or the test proves nothing.
        #expect(decoded > 40)
    }
}
