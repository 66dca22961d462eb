import Dispatch
import Foundation
import POSIX
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// The restart-marked copy a worker stores after its miss, racing the image's delete.
@Suite struct RestartMarkedOriginalsTests {
    /// The delete comes between the copy's look at the record and its write (the record
    /// goes, then the image's folder, under the image's deletion gate, as
    /// `DELETE /images/{id}` does them): it waits for the copy's write and takes the copy
    /// with the rest. Without the gate the write made the folder again after the delete,
    /// left at its own path (a CI run's delete race), and taking the copy back after the
    /// write had removed every derived file of an image whose delete was cut short.
    @Test func aDeleteRacingTheCopyLeavesNoFolder() throws {
        let root = try Files.makeTemporaryDirectory(template: "/tmp/progimage-copy-XXXXXX")
        defer { Files.removeTree(root) }
        let cache = DerivedImageCache(root: root + "/cache")
        let sqlite = try SQLiteMetadataStore(path: root + "/metadata.sqlite3")
        let id = ImageID.random()
        _ = try sqlite.insert([
            ImageRecord(
                id: id, filename: "photo.jpg", format: .jpg, width: 2048, height: 1024, bytes: 4, sha256: String(repeating: "0", count: 64),
                createdAt: "2026-12-06T00:00:00Z")
        ])
        let metadata = DeletedOnFirstLook(store: sqlite, cache: cache)
        RestartMarkedOriginals(cache: cache, metadata: metadata).store(Array("copy".utf8), id: id)
        metadata.deleted.wait()
        #expect(try sqlite.record(id) == nil)
        #expect(!Files.exists(cache.directory(of: id)))
    }
}

/// The real SQLite store, with the image's delete (its record, then its derived files, as
/// `DELETE /images/{id}` does them) run just after the first look at a record.
private final class DeletedOnFirstLook: MetadataStore, @unchecked Sendable {
    let store: SQLiteMetadataStore
    let cache: DerivedImageCache
    var looked = false

    init(store: SQLiteMetadataStore, cache: DerivedImageCache) {
        self.store = store
        self.cache = cache
    }

    var isAvailable: Bool { store.isAvailable }

    /// Signalled once the delete has run.
    let deleted = DispatchSemaphore(value: 0)

    func record(_ id: ImageID) throws(ServiceError) -> ImageRecord? {
        let record = try store.record(id)
        if !looked {
            looked = true
            Thread.detachNewThread { [store, cache, deleted] in
                cache.whileDeleting(id) {
                    _ = try? store.delete(id)
                    cache.removeAll(of: id)
                }
                deleted.signal()
            }
            // Long enough for the delete to be waiting at the gate before the write.
            usleep(50_000)
        }
        return record
    }

    func insert(_ records: [ImageRecord]) throws(ServiceError) -> [ImageRecord] { try store.insert(records) }
    func list(limit: Int, cursor: ListCursor?) throws(ServiceError) -> (records: [ImageRecord], next: ListCursor?) {
        try store.list(limit: limit, cursor: cursor)
    }
    func delete(_ id: ImageID) throws(ServiceError) -> Bool { try store.delete(id) }
}
