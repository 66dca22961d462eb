import ProgimageAPI
import Testing

@testable import ProgimageCore

/// The upload checks against every file of the shared corpus, through real libgd,
/// libheif and TurboJPEG: valid files give the manifest's displayed size and sniffed
/// format; invalid ones a 4xx-class error; none may crash.
@Suite struct CorpusIngestTests {
    static let ingest = ImageIngest(maxUploadBytes: 52_428_800, maxPixels: 100_000_000)

    static func expectedFormat(_ entry: Corpus.Entry) -> ImageFormat? {
        switch entry.format {
        case "jpeg": .jpg
        case "heif": .heic
        default: ImageFormat(rawValue: entry.format)
        }
    }

    @Test(arguments: Corpus.entries.filter { $0.expect == "valid" }.map(\.file))
    func validFileIsAcceptedWithDisplayedSize(file: String) throws {
        let entry = try #require(Corpus.entries.first { $0.file == file })
        let inspected = try Self.ingest.inspect(Corpus.bytes(file))
        #expect(inspected.format == Self.expectedFormat(entry))
        // Where no reference decoder read the file the manifest has no size: the header's
        // stored size is the displayed one (such files carry no orientation).
        let header = try ImageHeader.read(Corpus.bytes(file), format: inspected.format)
        #expect(inspected.size.width == entry.width ?? header.width)
        #expect(inspected.size.height == entry.height ?? header.height)
    }

    @Test(arguments: Corpus.entries.filter { $0.expect == "invalid" }.map(\.file))
    func invalidFileIsRefused(file: String) {
        do {
            _ = try Self.ingest.inspect(Corpus.bytes(file))
            Issue.record("\(file) was accepted")
        } catch {
            #expect([.unsupportedMediaType, .corruptImage, .imageTooLarge].contains(error.code))
        }
    }

    @Test(arguments: Corpus.entries.filter { $0.expect == "either" || $0.expect == "optional" }.map(\.file))
    func lenientFileNeverCrashes(file: String) {
        do {
            _ = try Self.ingest.inspect(Corpus.bytes(file))
        } catch {
            #expect(error.code.status >= 400 && error.code.status < 500, "\(file): \(error)")
        }
    }
}
