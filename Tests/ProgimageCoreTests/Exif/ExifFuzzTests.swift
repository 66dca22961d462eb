import ProgimageAPI
import ProgimageCore
import Testing

/// Hostile bytes must never trap. Each test passes by finishing: an out-of-range index or
/// an arithmetic overflow would crash the test process instead.
@Suite("ExifOrientation on hostile bytes")
struct ExifFuzzTests {
    static let samples: [(bytes: [UInt8], orientation: ExifOrientation)] = Corpus.entries
        .filter { $0.file.hasPrefix("jpeg/exif-orientation/") }
        .map { (Corpus.bytes($0.file), ExifOrientation(tagValue: $0.orientation ?? 1)) }

    /// Every prefix of the metadata region, and beyond it into the scan. A cut before the
    /// EXIF segment is complete reads `.up`; after, the real value.
    @Test func everyTruncationOfTheExifJPEGs() throws {
        #expect(!Self.samples.isEmpty)
        for (bytes, expected) in Self.samples {
            let tiffStart = try #require(ExifFixture.tiffOffset(inJPEG: bytes))
            let limit = min(bytes.count, tiffStart + 4096)
            var sawExpected = false
            for length in 0...limit {
                let result = ExifOrientation.read(from: bytes[..<length], format: .jpg)
                #expect(result == .up || result == expected)
                sawExpected = sawExpected || result == expected
            }
            #expect(sawExpected)
            #expect(ExifOrientation.read(from: bytes, format: .jpg) == expected)
        }
    }

    /// Every prefix of each TIFF structure, bare and inside the other containers.
    @Test func everyTruncationOfTheTIFFStructures() throws {
        for (bytes, _) in Self.samples {
            let tiffStart = try #require(ExifFixture.tiffOffset(inJPEG: bytes))
            let tiff = Array(bytes[tiffStart..<min(bytes.count, tiffStart + 512)])
            for length in 0...tiff.count {
                let cut = Array(tiff[..<length])
                _ = ExifOrientation.read(from: cut, format: .tiff)
                _ = ExifOrientation.read(from: ExifFixture.png(exif: cut), format: .png)
                _ = ExifOrientation.read(from: ExifFixture.webp(exif: cut), format: .webp)
            }
        }
    }

    @Test func randomMutationsOfTheExifJPEGs() throws {
        var generator = SeededGenerator(seed: 0x5EED_0112)
        for _ in 0..<3_000 {
            let sample = try #require(Self.samples.randomElement(using: &generator))
            let tiffStart = try #require(ExifFixture.tiffOffset(inJPEG: sample.bytes))
            // The metadata region plus a little scan data: beyond SOS nothing is read.
            var jpeg = Array(sample.bytes[..<min(sample.bytes.count, tiffStart + 1024)])
            Self.mutate(&jpeg, using: &generator)
            _ = ExifOrientation.read(from: jpeg, format: .jpg)

            var tiff = Array(sample.bytes[tiffStart..<min(sample.bytes.count, tiffStart + 256)])
            Self.mutate(&tiff, using: &generator)
            _ = ExifOrientation.read(from: tiff, format: .tiff)
            _ = ExifOrientation.read(from: ExifFixture.png(exif: tiff), format: .png)
            _ = ExifOrientation.read(from: ExifFixture.webp(exif: tiff), format: .webp)

            var container = Bool.random(using: &generator) ? ExifFixture.png(exif: tiff) : ExifFixture.webp(exif: tiff)
            Self.mutate(&container, using: &generator)
            _ = ExifOrientation.read(from: container, format: .png)
            _ = ExifOrientation.read(from: container, format: .webp)
        }
    }

    @Test func randomBytesBehindEachMagic() {
        var generator = SeededGenerator(seed: 42)
        let magics: [(ImageFormat, [UInt8])] = [
            (.jpg, [0xFF, 0xD8]), (.tiff, Array("II*\0".utf8)), (.tiff, Array("MM\0*".utf8)),
            (.tiff, Array("II+\0".utf8) + [8, 0, 0, 0]), (.png, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
            (.webp, Array("RIFF\0\0\0\0WEBP".utf8)),
        ]
        for _ in 0..<2_000 {
            for (format, magic) in magics {
                let count = Int.random(in: 0..<96, using: &generator)
                let noise = (0..<count).map { _ in Self.interestingByte(using: &generator) }
                #expect(ExifOrientation.allCases.contains(ExifOrientation.read(from: magic + noise, format: format)))
            }
        }
    }

    /// One to eight edits, biased toward the values that break length and offset fields.
    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            guard !bytes.isEmpty else { return }
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 2: bytes[index] = interestingByte(using: &generator)
            case 3:
                for offset in index..<min(bytes.count, index + 4) { bytes[offset] = 0xFF }
            case 4: bytes.remove(at: index)
            default: bytes.insert(interestingByte(using: &generator), at: index)
            }
        }
        if Int.random(in: 0..<4, using: &generator) == 0 {
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &generator))
        }
    }

    static func interestingByte(using generator: inout SeededGenerator) -> UInt8 {
        let interesting: [UInt8] = [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x12, 0x2A, 0x2B, 0x7F, 0x80, 0xD8, 0xDA, 0xE1, 0xFE, 0xFF,
        ]
        return Bool.random(using: &generator)
            ? interesting[Int.random(in: 0..<interesting.count, using: &generator)]
            : UInt8.random(in: 0...255, using: &generator)
    }
}
