import Foundation

/// The public conformance corpus committed in `tests/corpus` (sources and licences in its
/// README, SOURCES.md and LICENSES.md), read in place.
///
/// `PROGIMAGE_CORPUS` overrides the location; tests that need it fail loudly when it is
/// missing rather than skipping, because a silent skip would hide a broken checkout.
enum Corpus {
    struct Entry: Decodable, Sendable {
        let file: String
        let format: String
        let width: Int?
        let height: Int?
        let stored_width: Int?
        let stored_height: Int?
        let orientation: Int?
        let frames: Int?
        let expect: String
        let gd_2_3_3: String?
    }

    static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["PROGIMAGE_CORPUS"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.appendingPathComponent("tests/corpus")
    }()

    /// The checkout this test was compiled from: the folder holding Package.swift.
    static let packageRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".")
    }()

    private struct Manifest: Decodable { let files: [Entry] }

    static let entries: [Entry] = {
        let url = root.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { fatalError("corpus manifest not readable at \(url.path)") }
        return manifest.files
    }()

    static func bytes(_ file: String) -> [UInt8] {
        guard let data = try? Data(contentsOf: root.appendingPathComponent(file)) else {
            fatalError("corpus file missing: \(file)")
        }
        return [UInt8](data)
    }
}
