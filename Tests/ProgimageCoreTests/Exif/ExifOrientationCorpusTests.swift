import ProgimageAPI
import ProgimageCore
import Testing

/// The manifest's `orientation` is what Pillow reports. For JPEG, PNG, TIFF and WebP that
/// is the EXIF tag; for AVIF/HEIF Pillow synthesises it from irot/imir, which this reader
/// deliberately does not see.
@Suite("ExifOrientation against the corpus")
struct ExifOrientationCorpusTests {
    static let exifFormats: Set<ImageFormat> = [.jpg, .png, .tiff, .webp]

    static let orientationJPEGs = Corpus.entries.filter { $0.file.hasPrefix("jpeg/exif-orientation/") }.map(\.file)

    static func entry(_ file: String) -> Corpus.Entry? {
        Corpus.entries.first { $0.file == file }
    }

    static func read(_ entry: Corpus.Entry) -> ExifOrientation? {
        guard let format = ExifFixture.format(manifestName: entry.format) else { return nil }
        return ExifOrientation.read(from: Corpus.bytes(entry.file), format: format)
    }

    @Test func corpusHasTheEighteenOrientationSamples() {
        #expect(Self.orientationJPEGs.count == 18)
    }

    @Test(arguments: orientationJPEGs)
    func orientationJPEGMatchesManifest(file: String) throws {
        let entry = try #require(Self.entry(file))
        let tag = try #require(entry.orientation)
        #expect(Self.read(entry) == ExifOrientation(tagValue: tag))
    }

    @Test func everyManifestRowMatches() throws {
        for entry in Corpus.entries {
            let format = try #require(ExifFixture.format(manifestName: entry.format), "\(entry.format)")
            let expected =
                Self.exifFormats.contains(format) ? ExifOrientation(tagValue: entry.orientation ?? 1) : .up
            #expect(Self.read(entry) == expected, "\(entry.file)")
        }
    }

    @Test func swappedDisplaySizesMeanSwapsSides() {
        var swappedRows = 0
        for entry in Corpus.entries {
            guard let format = ExifFixture.format(manifestName: entry.format), Self.exifFormats.contains(format),
                let width = entry.width, let height = entry.height,
                let storedWidth = entry.stored_width, let storedHeight = entry.stored_height,
                width != height
            else { continue }
            let swapped = width == storedHeight && height == storedWidth
            if swapped { swappedRows += 1 }
            #expect(Self.read(entry)?.swapsSides == swapped, "\(entry.file)")
        }
        #expect(swappedRows == 8)
    }

    @Test func filesWithoutATagAreUp() {
        let untagged = Corpus.entries.filter { $0.orientation == nil }
        #expect(untagged.count > 200)
        for entry in untagged {
            #expect(Self.read(entry) == .up, "\(entry.file)")
        }
    }

    @Test func taggedTIFFAndPNGFilesAreRead() throws {
        // Every tagged TIFF/PNG in the corpus says 1; build confidence the tag itself was found
        // by checking the same files rewritten to 6 at the tag's value.
        let tagged = Corpus.entries.filter { ($0.format == "tiff" || $0.format == "png") && $0.orientation != nil }
        #expect(tagged.count >= 11)
        for entry in tagged {
            #expect(Self.read(entry) == .up, "\(entry.file)")
            let rewritten = try #require(
                Self.rewritingOrientation(of: Corpus.bytes(entry.file), to: 6), "\(entry.file)")
            let format = try #require(ExifFixture.format(manifestName: entry.format))
            #expect(ExifOrientation.read(from: rewritten, format: format) == .right, "\(entry.file)")
        }
    }

    @Test func heifRotationIsNotReadFromEXIF() throws {
        let rotated = try #require(Self.entry("avif/link-u/kimono.rotate90.avif"))
        #expect(rotated.orientation == 6)
        #expect(Self.read(rotated) == .up)
    }

    /// Every file under every format's reader: no trap, and a reader handed another
    /// format's container finds no orientation in it (each checks its own signature first;
    /// one that wandered into foreign bytes would turn an image for nothing).
    @Test func everyFileUnderEveryReaderIsSafe() {
        for entry in Corpus.entries {
            let bytes = Corpus.bytes(entry.file)
            let own = FormatSniffer.sniff(bytes)
            for format in ImageFormat.allCases {
                let orientation = ExifOrientation.read(from: bytes, format: format)
                if format != own {
                    #expect(orientation == .up, "\(entry.file) read as \(format) gave \(orientation)")
                }
            }
        }
    }

    /// Finds the first orientation entry in the file (0x0112, SHORT, count 1 in either byte
    /// order) and overwrites its value: a test-side search, independent of the reader.
    static func rewritingOrientation(of bytes: [UInt8], to value: UInt8) -> [UInt8]? {
        let bigEndian: [UInt8] = [0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]
        let littleEndian: [UInt8] = [0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00]
        guard bytes.count > 12 else { return nil }
        for start in 0..<(bytes.count - 12) {
            let window = bytes[start..<start + 8]
            var copy = bytes
            if window.elementsEqual(bigEndian) {
                copy[start + 8] = 0
                copy[start + 9] = value
                return copy
            }
            if window.elementsEqual(littleEndian) {
                copy[start + 8] = value
                copy[start + 9] = 0
                return copy
            }
        }
        return nil
    }
}
