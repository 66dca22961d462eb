import Foundation
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// Hostile bytes must never trap the process: every outcome is a size or `corrupt_image`.
///
/// A trap here would take down the FastCGI worker for every request it was serving, so
/// these run the sniffer and all eight readers over mutated, truncated and random input
/// with fixed seeds (a failure replays exactly).
@Suite struct HeaderFuzzTests {
    /// Small files covering every reader's paths: the two smallest valid files per
    /// format plus layouts the smallest ones lack (VP8X, OS/2 and V5 BMP, BigTIFF, thumbnail HEIF).
    static let seeds: [[UInt8]] = {
        let valid = Corpus.entries.filter { $0.expect == "valid" }
        let smallest = Dictionary(grouping: valid, by: \.format).values.flatMap { group in
            group.map { ($0.file, Corpus.bytes($0.file).count) }.sorted { $0.1 < $1.1 }.prefix(2).map(\.0)
        }
        let extra = [
            "webp/libwebp-test-data/alpha_filter_1.webp",
            "bmp/bmpsuite/good/pal8os2.bmp",
            "bmp/bmpsuite/good/pal8v5.bmp",
            "tiff/image-tiff-images/BigTIFF.tif",
            "heif/libheif/colors-no-alpha-thumbnail.heic",
        ]
        // A HEIF grid (its description in mdat), for the walk to the coded pictures.
        let grid = Corpus.packageRoot.appendingPathComponent("tests/integration/fixtures/grid-2x2.avif")
        return (smallest.sorted() + extra).map(Corpus.bytes) + [
            HEIFHeaderTests.file(pitmVersion: 1, ipmaVersion: 1, ipmaFlags: 1), [UInt8]((try? Data(contentsOf: grid)) ?? Data()),
        ]
    }()

    /// Sniffs and reads `bytes` as every format; nil when all is well, else what went wrong.
    static func exercise(_ bytes: [UInt8]) -> String? {
        _ = FormatSniffer.sniff(bytes)
        for format in ImageFormat.allCases {
            do {
                let header = try ImageHeader.read(bytes, format: format)
                if header.width <= 0 || header.height <= 0 || header.format != format {
                    return "\(format): bad header \(header)"
                }
            } catch  where error.code != .corruptImage {
                return "\(format): unexpected \(error)"
            } catch {}
        }
        // What a HEIF decode would allocate, from the coded streams' own headers.
        do {
            for size in try HEIFContainer(bytes).codedPictureSizes() where size.width < 0 || size.height < 0 {
                return "coded pictures: bad size \(size)"
            }
        } catch where error.code != .corruptImage {
            return "coded pictures: unexpected \(error)"
        } catch {}
        return nil
    }

    @Test func mutatedFilesNeverTrap() {
        var rng = SeededGenerator(seed: 0x5EED_0001)
        for iteration in 0..<4_000 {
            let seed = Self.seeds[Int.random(in: 0..<Self.seeds.count, using: &rng)]
            let mutated = Self.mutate(seed, using: &rng)
            if let problem = Self.exercise(mutated) {
                Issue.record("iteration \(iteration): \(problem)")
                return
            }
        }
    }

    /// Every prefix either throws or reads the same size as the whole file: the header is
    /// all that is read, so bytes after it cannot change the answer.
    @Test func everyTruncationThrowsOrAgrees() throws {
        for seed in Self.seeds {
            let format = try #require(FormatSniffer.sniff(seed))
            let full = try ImageHeader.read(seed, format: format)
            for length in 0..<min(seed.count, 8_192) {
                let prefix = Array(seed[..<length])
                do {
                    let header = try ImageHeader.read(prefix, format: format)
                    if header != full { Issue.record("\(format) prefix \(length) read \(header), whole file \(full)") }
                } catch  where error.code != .corruptImage {
                    Issue.record("\(format) prefix \(length): \(error)")
                } catch {}
                _ = FormatSniffer.sniff(prefix)
            }
        }
    }

    @Test func randomBytesHaveNoSignature() {
        var rng = SeededGenerator(seed: 0x5EED_0002)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(FormatSniffer.sniff(bytes) == nil)
            if let problem = Self.exercise(bytes) { Issue.record("\(problem)") }
        }
    }

    /// Real signatures followed by noise reach past the signature checks into each parser.
    @Test func signaturesFollowedByNoiseNeverTrap() {
        var rng = SeededGenerator(seed: 0x5EED_0003)
        let prefixes = Self.seeds.map { Array($0.prefix(16)) }
        for _ in 0..<2_000 {
            let prefix = prefixes[Int.random(in: 0..<prefixes.count, using: &rng)]
            let keep = Int.random(in: 2...prefix.count, using: &rng)
            let noise = (0..<Int.random(in: 0..<256, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let problem = Self.exercise(Array(prefix.prefix(keep)) + noise) { Issue.record("\(problem)") }
        }
    }

    /// One to eight edits, mostly in the first 512 bytes where headers live, favouring
    /// the values that break length arithmetic (0, all-ones, sign bits).
    static func mutate(_ original: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var bytes = original
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            guard !bytes.isEmpty else { break }
            let window = Int.random(in: 0..<5, using: &rng) > 0 ? min(bytes.count, 512) : bytes.count
            let at = Int.random(in: 0..<window, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2: bytes[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01].randomElement(using: &rng) ?? 0
            case 3:
                let word: [UInt8] =
                    [
                        [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0], [0x7F, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0],
                        [0, 0, 0, 1],
                    ]
                    .randomElement(using: &rng) ?? []
                bytes.replaceSubrange(at..<min(at + 4, bytes.count), with: word)
            case 4: bytes.removeSubrange(Int.random(in: 0...at, using: &rng)...)
            case 5: bytes.removeSubrange(at..<min(at + Int.random(in: 1...16, using: &rng), bytes.count))
            default:
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }, at: at)
            }
        }
        return bytes
    }
}
