public import ProgimageAPI
import POSIX

/// Per overlay image, the derived files made with it (`.overlays/{overlay}`, one relative
/// path a line), so that its delete removes them: every URL that uses it answers 404,
/// cached or not.
///
/// A line is written before its file exists (a delete must always find it), once per path.
/// It had been written at every render, kept or not, and nothing took lines away but the
/// overlay's own delete: a black-box soak left 1,610 lines in 1,125 lists, 99 % naming files
/// evicted, pruned or of deleted images, outside the cache budget. Every `CachePruner`
/// pass (prune and eviction) now drops those (`compactOverlayUses`). Writers hold the list's lock shared,
/// compaction exclusively, so no line written meanwhile is lost by its rewrite.
extension DerivedImageCache {
    /// Notes that the derived file at `path` (relative to the root) composites `overlay`;
    /// false when the note could not be written (a full cache disk): the file must then not
    /// be kept, since the overlay's delete would not find it.
    public func recordOverlayUse(of overlay: ImageID, by path: String) -> Bool {
        let folder = root + "/" + Self.overlaysFolder
        do {
            try Files.makeDirectories(folder)
            try Files.makeDirectories(overlayLocksFolder)
        } catch {
            return false
        }
        let list = "\(folder)/\(overlay)"
        return FileLock.holding(overlayLock(overlay.rawValue), .shared) { _ in
            if let bytes = try? Files.read(list),
                String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains(Substring(path))
            {
                return true
            }
            do {
                try Files.append(Array((path + "\n").utf8), to: list)
                return true
            } catch {
                return false
            }
        }
    }

    /// Removes every derived file made with `overlay` (after its delete).
    public func removeOverlayUsers(of overlay: ImageID) {
        let list = "\(root)/\(Self.overlaysFolder)/\(overlay)"
        guard let bytes = try? Files.read(list) else { return }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.contains("..") {
            try? Files.remove("\(root)/\(line)")
        }
        try? Files.remove(list)
        try? Files.remove(overlayLock(overlay.rawValue))
    }

    /// Drops from every list the lines naming files that are gone (evicted, pruned, their
    /// image deleted, or never kept) and repeated lines; a line whose file is being made
    /// (its path's lock file exists) stays. A list left empty goes. Returns the lines dropped.
    @discardableResult
    public func compactOverlayUses() -> Int {
        let folder = root + "/" + Self.overlaysFolder
        var dropped = 0
        for entry in Files.entries(in: folder) ?? [] where !entry.isDirectory && ImageID(entry.name) != nil {
            let list = "\(folder)/\(entry.name)"
            FileLock.holding(overlayLock(entry.name), .exclusive) { fd in
                guard fd != nil, let bytes = try? Files.read(list) else { return }
                let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
                var seen: Set<Substring> = []
                let kept = lines.filter { line in
                    guard seen.insert(line).inserted, !line.contains("..") else { return false }
                    let path = "\(root)/\(line)"
                    return Files.exists(path) || Files.exists(lockFile(for: path))
                }
                guard kept.count < lines.count else { return }
                dropped += lines.count - kept.count
                if kept.isEmpty {
                    try? Files.remove(list)
                } else {
                    try? Files.writeAtomically(
                        Array((kept.joined(separator: "\n") + "\n").utf8), to: list,
                        temporaryDirectory: root + "/" + Self.temporaryFolder, durable: false)
                }
            }
        }
        return dropped
    }

    private var overlayLocksFolder: String { root + "/" + Self.locksFolder + "/" + Self.overlaysFolder }

    private func overlayLock(_ overlay: String) -> String { overlayLocksFolder + "/" + overlay }
}
