import Foundation
import Testing

@testable import ProgimageDeployment

/// A mistyped `PROGIMAGE_*` name is named at start, with the one it most likely meant; the
/// list of names is every one the sources read, and no other.
@Suite struct KnownVariablesTests {
    @Test func aTypoIsNamedWithTheNearestKnownName() {
        let environment = [
            "PROGIMAGE_MAX_PIXEL": "10", "PROGIMAGE_METRIC_PORT": "9100", "PROGIMAGE_APIKEY": "k", "PROGIMAGE_FOO": "1",
            "PROGIMAGE_PORT": "8080", "HOME": "/root",
        ]
        let unknown = KnownVariables.unknown(in: environment)
        #expect(unknown.map(\.name) == ["PROGIMAGE_APIKEY", "PROGIMAGE_FOO", "PROGIMAGE_MAX_PIXEL", "PROGIMAGE_METRIC_PORT"])
        #expect(unknown.map(\.nearest) == ["PROGIMAGE_API_KEY", nil, "PROGIMAGE_MAX_PIXELS", "PROGIMAGE_METRICS_PORT"])
        #expect(
            KnownVariables.warnings(for: ["PROGIMAGE_MAX_PIXEL": "10"]) == [
                "progimage: PROGIMAGE_MAX_PIXEL is not a variable progimage reads; ignored (did you mean PROGIMAGE_MAX_PIXELS?)"
            ])
        #expect(KnownVariables.warnings(for: ["PROGIMAGE_PORT": "1"]).isEmpty)
    }

    @Test func editDistance() {
        #expect(KnownVariables.editDistance("", "abc") == 3 && KnownVariables.editDistance("abc", "") == 3)
        #expect(KnownVariables.editDistance("kitten", "sitting") == 3 && KnownVariables.editDistance("same", "same") == 0)
    }

    /// The list is every `"PROGIMAGE_…"` literal the sources hold, so a new variable cannot
    /// be read without being known, and a name no longer read leaves it.
    @Test func theNamesAreTheOnesTheSourcesRead() throws {
        let sources = Corpus.packageRoot.appendingPathComponent("Sources")
        let pattern = try NSRegularExpression(pattern: "\"(PROGIMAGE_[A-Z0-9_]+)\"")
        var read: Set<String> = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", file.lastPathComponent != "KnownVariables.swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { read.insert(String(text[range])) }
            }
        }
        #expect(read.subtracting(KnownVariables.names).isEmpty, "read but not known: \(read.subtracting(KnownVariables.names))")
        #expect(KnownVariables.names.subtracting(read).isEmpty, "known but read nowhere: \(KnownVariables.names.subtracting(read))")
    }
}
