import POSIX
public import ProgimageAPI

/// A derived file is never served after its preset's definition changed: the URL names the
/// preset, not its expansion, so nginx would keep serving the old file. At start the api
/// instance compares the definitions with the ones the cache was made under
/// (`.locks/presets`) and removes every derived file whose path goes through a preset that
/// changed or went away (a walk of the cache, only when something changed), and dates each
/// preset that changed or is new (`.locks/preset-dates/{name}`).
public enum PresetCachePurge {
    /// Returns the names whose files were removed.
    @discardableResult
    public static func run(cache: DerivedImageCache, presets: PresetTable) -> [String] {
        let recordPath = cache.presetDefinitionsPath
        let current = presets.definitions.mapValues { $0.joined(separator: "/") }
        var previous: [String: String] = [:]
        if let bytes = try? Files.read(recordPath) {
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                previous[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        let stale = previous.filter { current[$0.key] != $0.value }.map(\.key).sorted()
        // Each changed or new preset is dated now: its files' validators then move on
        // (`DerivedImageRenderer.lastModified`), and an unchanged one's stay.
        for name in current.keys where previous[name] != current[name] || cache.presetChangedAt(name) == nil {
            try? Files.writeAtomically([], to: cache.presetDatePath(name), temporaryDirectory: cache.root + "/" + DerivedImageCache.temporaryFolder, durable: false)
        }
        if !stale.isEmpty {
            let names = Set(stale.map { "preset:\($0)" })
            for first in Files.entries(in: cache.root) ?? [] where first.isDirectory && !first.name.hasPrefix(".") {
                for second in Files.entries(in: "\(cache.root)/\(first.name)") ?? [] where second.isDirectory {
                    for image in Files.entries(in: "\(cache.root)/\(first.name)/\(second.name)") ?? [] where image.isDirectory {
                        remove(in: "\(cache.root)/\(first.name)/\(second.name)/\(image.name)", matching: names)
                    }
                }
            }
        }
        if stale.isEmpty && previous.count == current.count { return [] }
        let text = current.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        try? Files.writeAtomically(Array(text.utf8), to: recordPath, temporaryDirectory: cache.root + "/" + DerivedImageCache.temporaryFolder, durable: false)
        return stale
    }

    /// Removes every entry below `directory` whose name is, or is a file of, a stale preset
    /// segment (`preset:thumb/…` directories, `preset:thumb.webp` files).
    private static func remove(in directory: String, matching names: Set<String>) {
        for entry in Files.entries(in: directory) ?? [] {
            let path = "\(directory)/\(entry.name)"
            let segment = entry.isDirectory ? entry.name : String(entry.name.prefix { $0 != "." })
            if names.contains(segment) {
                if entry.isDirectory { Files.removeTree(path) } else { try? Files.remove(path) }
            } else if entry.isDirectory {
                remove(in: path, matching: names)
            }
        }
    }
}
