import Foundation
import ProgimageAPI
import SQLite
import Testing

@testable import ProgimageCore

/// The SQLite store on a real file: round trip, newest-first pages with cursors, delete,
/// and a damaged row, which must be an error and not a record with an invented id.
@Suite struct SQLiteMetadataStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("meta-\(UUID().uuidString).db").path

    func record(_ n: Int) -> ImageRecord {
        ImageRecord(
            id: ImageID.random(), filename: "f\(n).png", format: .png, width: n, height: n + 1, bytes: 100 + n,
            sha256: String(repeating: "a", count: 64), createdAt: "2026-12-04T22:00:0\(n % 10)Z")
    }

    @Test func roundTripListAndDelete() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteMetadataStore(path: path)
        let given = (0..<5).map(record)
        let records = try store.insert(given)
        // The store stamps `created_at` as it inserts: one time for the whole batch.
        #expect(records.map(\.id) == given.map(\.id) && records.allSatisfy { $0.createdAt == records[0].createdAt })
        #expect(records[0].createdAt != given[0].createdAt && records[0].created(at: given[0].createdAt) == given[0])
        #expect(try store.record(records[2].id) == records[2])

        let first = try store.list(limit: 2, cursor: nil)
        #expect(first.records == [records[4], records[3]])
        let second = try store.list(limit: 2, cursor: first.next)
        #expect(second.records == [records[2], records[1]])
        let last = try store.list(limit: 2, cursor: second.next)
        #expect(last.records == [records[0]] && last.next == nil)

        #expect(try store.delete(records[0].id))
        #expect(try !store.delete(records[0].id))
        #expect(try store.record(records[0].id) == nil)
    }

    @Test func aDamagedRowIsAnErrorNotAnInventedRecord() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteMetadataStore(path: path)
        let kept = try store.insert([record(1)])[0]
        let database = try SQLiteDatabase(path: path)
        try database.execute("INSERT INTO images (id, filename, format, width, height, bytes, sha256, created_at) "
            + "VALUES ('not an id', NULL, 'png', 1, 1, 1, 'x', '2026-12-04T22:00:00Z')")
        do {
            _ = try store.list(limit: 10, cursor: nil)
            Issue.record("a damaged row was listed")
        } catch {
            #expect(error.code == .internalError)
        }
        #expect(try store.record(kept.id) == kept)
    }
}
