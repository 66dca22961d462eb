import Foundation
import GD
import JPEG
import ProgimageAPI
import Testing
import TurboJPEG

@testable import ProgimageCore

/// A large JPEG whose scan has a restart interval near its middle decodes in two parts on
/// two threads (`JPEGRowSource`, `pg_jpeg_read_in_parts`), and a file without one gets a
/// lossless copy that has them (`JPEGRestarts.restartMarkedCopy`). Both are only worth
/// having if nothing changes: the copy decodes to the original's pixels, the two parts to
/// the whole decode's, on every path and at every scale, and damage anywhere still fails.
@Suite struct JPEGPartsDecodeTests {
    static func noisyJPEG(width: Int, height: Int, subsampling: TurboJPEGEncoder.Subsampling) throws -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(width * 7 + height))
        var bgrx = [UInt8](repeating: 255, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                let noise = Int.random(in: 0..<48, using: &generator)
                bgrx[i] = UInt8(truncatingIfNeeded: x / 5 + noise)
                bgrx[i + 1] = UInt8(truncatingIfNeeded: y / 3 + noise / 2)
                bgrx[i + 2] = UInt8(truncatingIfNeeded: (x + y) / 4 + (noise & 7))
            }
        }
        return try TurboJPEGEncoder.encode(
            bgrx: bgrx, width: width, height: height, stride: width * 4, quality: 88, subsampling: subsampling)
    }

    /// A decode's pixels, nil when it threw.
    static func pixels(_ decode: () throws -> GDImage?) -> [UInt8]? {
        do {
            return try decode()?.interleaved(alpha: false)
        } catch {
            return nil
        }
    }

    /// libgd's rows of a decode at 1/`scale`, interleaved.
    static func rows(_ bytes: [UInt8], _ scale: Int) throws -> [UInt8] {
        guard let image = try GDImage.decodedJPEG(bytes, scaleDenominator: scale) else {
            throw JPEGPartsTestFailure.notDecodedToRows
        }
        return image.interleaved(alpha: false)
    }

    static func copy(of original: [UInt8]) throws -> [UInt8] {
        try #require(JPEGRestarts.restartMarkedCopy(of: original), "the copy is made")
    }

    /// libjpeg-turbo's test images (baseline, progressive, arithmetic-coded) and EXIF-rotated
    /// ones: the copy decodes to the same pixels at every scale and keeps the orientation.
    @Test(arguments: [
        "jpeg/libjpeg-turbo/testorig.jpg", "jpeg/libjpeg-turbo/testimgint.jpg", "jpeg/libjpeg-turbo/testimgari.jpg",
        "jpeg/exif-orientation/Landscape_6.jpg",
        "jpeg/exif-orientation/Portrait_3.jpg",
    ])
    func copyDecodesToTheOriginalsPixels(file: String) throws {
        let original = Corpus.bytes(file)
        let copy = try Self.copy(of: original)
        for scale in [1, 2, 4, 8] {
            let expected = try JPEGDecoder.decode(original, scaleDenominator: scale)
            let decoded = try JPEGDecoder.decode(copy, scaleDenominator: scale)
            #expect(decoded.width == expected.width && decoded.height == expected.height)
            #expect(Bool(decoded.bytes == expected.bytes), "1/\(scale)")
        }
        #expect(ExifOrientation.read(from: copy, format: .jpg) == ExifOrientation.read(from: original, format: .jpg))
        let upright = try ImageDecoder.decode(original, format: .jpg, maxPixels: 1 << 24)
        let uprightCopy = try ImageDecoder.decode(copy, format: .jpg, maxPixels: 1 << 24)
        #expect(Bool(uprightCopy.interleaved(alpha: false) == upright.interleaved(alpha: false)))
    }

    /// A valid file whose copy fails inside libjpeg's compression, after its 120 KB of
    /// markers were written: no copy, and no crash (the buffer was freed twice).
    @Test func aCopyThatFailsLateIsNoneAndNoCrash() throws {
        let original = try Self.fixture("non-interleavable-scans.jpg")
        #expect(try JPEGDecoder.decode(original, scaleDenominator: 1).width == 64)
        #expect(JPEGRestarts.restartMarkedCopy(of: original) == nil)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Corpus.packageRoot.appendingPathComponent("Tests/ProgimageCoreTests/Fixtures/\(name)")))
    }

    /// A progressive file refined short of its last bit decodes with block smoothing, which
    /// a sequential copy would not: no copy. A marker between scans stays out of the copy's
    /// headers, where it would be read (an orientation turned the copy).
    @Test func progressiveFilesKeepTheirReading() throws {
        let short = try Self.fixture("progressive-refined-short.jpg")
        #expect(try JPEGDecoder.decode(short, scaleDenominator: 1).width == 96)
        #expect(JPEGRestarts.restartMarkedCopy(of: short) == nil)
        let between = try Self.fixture("exif-between-scans.jpg")
        let copy = try Self.copy(of: between)
        #expect(ExifOrientation.read(from: between, format: .jpg) == .up)
        #expect(ExifOrientation.read(from: copy, format: .jpg) == .up)
        #expect(Bool(try JPEGDecoder.decode(copy, scaleDenominator: 1).bytes == JPEGDecoder.decode(between, scaleDenominator: 1).bytes))
    }

    /// Coefficients a baseline file cannot hold (a fuzzed arithmetic-coded file decodes to
    /// them): no copy, where one had decoded to other pixels.
    @Test func outOfRangeCoefficientsGetNoCopy() throws {
        let original = try Self.fixture("out-of-range-coefficients.jpg")
        #expect(try JPEGDecoder.decode(original, scaleDenominator: 1).width == 227)
        #expect(JPEGRestarts.restartMarkedCopy(of: original) == nil)
    }

    /// 12-bit samples are not re-encoded.
    @Test func twelveBitFilesGetNoCopy() {
        #expect(JPEGRestarts.restartMarkedCopy(of: Corpus.bytes("jpeg/libjpeg-turbo/monkey12.jpg")) == nil)
    }

    /// The parts against the whole decode of the original (no restart markers: one part),
    /// through every entry: libgd rows, the buffered decoder, the thumbnail that resamples
    /// rows as they arrive, and the pipeline's JPEG-to-JPEG thumbnail. Odd sizes leave a
    /// partial last MCU row and column.
    @Test(arguments: [
        (1100, 960, TurboJPEGEncoder.Subsampling.s420), (1101, 957, .s420), (1100, 962, .s422), (1003, 960, .s444),
        (1100, 961, .grey),
    ])
    func partsAreTheWholeDecode(width: Int, height: Int, subsampling: TurboJPEGEncoder.Subsampling) throws {
        let original = try Self.noisyJPEG(width: width, height: height, subsampling: subsampling)
        let copy = try Self.copy(of: original)
        #expect(!JPEGRestarts.splitInTwo(original))
        #expect(JPEGRestarts.splitInTwo(copy))
        for scale in [1, 2] {
            #expect(Bool(try Self.rows(copy, scale) == Self.rows(original, scale)), "libgd rows at 1/\(scale)")
            let buffered = try JPEGDecoder.decode(original, scaleDenominator: scale)
            let bufferedParts = try JPEGDecoder.decode(copy, scaleDenominator: scale)
            #expect(Bool(bufferedParts.bytes == buffered.bytes), "buffered at 1/\(scale)")
            let bufferedWhole = try JPEGDecoder.decode(copy, scaleDenominator: scale, inParts: false)
            #expect(Bool(bufferedWhole.bytes == buffered.bytes), "the copy whole at 1/\(scale)")
            let grey = try JPEGDecoder.decode(original, scaleDenominator: scale, greyWhenUnprofiled: true)
            let greyParts = try JPEGDecoder.decode(copy, scaleDenominator: scale, greyWhenUnprofiled: true)
            #expect(Bool(greyParts.bytes == grey.bytes), "luma only at 1/\(scale)")
        }
        let thumbnail = Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(original, scaleDenominator: 2, resizedTo: 520, 440) }
        let thumbnailParts = Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(copy, scaleDenominator: 2, resizedTo: 520, 440) }
        #expect(Bool(thumbnail != nil && thumbnailParts == thumbnail))
        let pipeline = ImagePipeline(maxPixels: 1 << 24, maxOutputSide: 8192)
        let source = ImageSize(width: width, height: height)
        for chainText in ["resize:540x", "flip:h", "blur:1.5", "crop:10,300,900,600/resize:300x"] {
            let chain = try OperationParser.parse(Substring(chainText), format: .jpg).chain
            let expected = try pipeline.render(original, format: .jpg, source: source, chain: chain)
            #expect(Bool(try pipeline.render(copy, format: .jpg, source: source, chain: chain) == expected), "\(chainText).jpg")
        }
    }

    /// At 1/4 a file needs four times the pixels to be worth two parts.
    @Test func partsAtAQuarter() throws {
        let original = try Self.noisyJPEG(width: 2210, height: 1930, subsampling: .s420)
        let copy = try Self.copy(of: original)
        #expect(Bool(try Self.rows(copy, 4) == Self.rows(original, 4)))
        #expect(Bool(try JPEGDecoder.decode(copy, scaleDenominator: 4).bytes == JPEGDecoder.decode(original, scaleDenominator: 4).bytes))
    }

    /// Cut right after a restart marker where the lower part begins, or one of the markers
    /// before it renumbered by exactly the offset libjpeg's own count would forgive: every
    /// decode refuses it as the whole decode does, none reads past the end.
    @Test func cutOrRenumberedAtTheEntry() throws {
        let copy = try Self.copy(of: try Self.noisyJPEG(width: 1100, height: 960, subsampling: .s420))
        let markers = copy.indices.dropLast().filter { copy[$0] == 0xFF && (0xD0...0xD7).contains(copy[$0 + 1]) }
        // 60 MCU rows of 16: the lower part begins at row 24 (29 rounded down to a multiple
        // of 8), after the 24th marker.
        #expect(markers.count == 59)
        var cut = Array(copy.prefix(markers[23] + 2))
        // The 31st marker is RST6; RST1 is what libjpeg's count expects there when entered
        // at row 29 (as an entry at any interval did before), which it took without a word.
        var renumbered = copy
        #expect(renumbered[markers[30] + 1] == 0xD6)
        renumbered[markers[30] + 1] = 0xD1
        for damaged in [cut, renumbered] {
            for scale in [1, 2] {
                #expect(Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(damaged, scaleDenominator: scale) } == nil)
                #expect((try? JPEGDecoder.decode(damaged, scaleDenominator: scale)) == nil)
                #expect((try? JPEGDecoder.decode(damaged, scaleDenominator: scale, inParts: false)) == nil)
            }
        }
        cut.append(contentsOf: [0xFF, 0xD9])
        #expect(Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(cut, scaleDenominator: 1) } == nil)
    }

    /// Damage in either part: a whole decode of the copy and a decode in parts agree, both
    /// failing or both giving the same pixels (libjpeg decodes some flipped bits without a
    /// word), and a file cut short fails in parts as it does whole.
    @Test func damageFailsInPartsAsItDoesWhole() throws {
        let copy = try Self.copy(of: try Self.noisyJPEG(width: 1100, height: 960, subsampling: .s420))
        var generator = SeededGenerator(seed: 77)
        var failures = 0
        for round in 0..<24 {
            var damaged = copy
            if round < 4 {
                damaged = Array(copy.prefix(copy.count * (5 + round) / 10))
            } else {
                for _ in 0..<(1 + round % 3) {
                    let at = Int.random(in: 700..<copy.count - 2, using: &generator)
                    damaged[at] ^= UInt8.random(in: 1...255, using: &generator)
                }
            }
            let whole = Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(damaged, scaleDenominator: 1, inParts: false) }
            let parts = Self.pixels { () throws -> GDImage? in try GDImage.decodedJPEG(damaged, scaleDenominator: 1) }
            #expect(Bool(whole == parts), "round \(round)")
            if whole == nil { failures += 1 }
        }
        #expect(failures >= 4)
    }
}

enum JPEGPartsTestFailure: Error { case notDecodedToRows }
