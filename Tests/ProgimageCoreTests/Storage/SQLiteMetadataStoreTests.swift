import Dispatch
import Foundation
import ProgimageAPI
import SQLite
import Synchronization
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

    /// A database removed (or replaced) under a running instance stays open unlinked: writes
    /// went into it and were lost at the next start. Every statement is refused instead,
    /// as the contract's unreachable database (503), until the file is back.
    @Test func aRemovedDatabaseRefusesEveryStatement() throws {
        defer { for suffix in ["", "-wal", "-shm", ".moved"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteMetadataStore(path: path)
        let kept = try store.insert([record(1)])
        #expect(store.isAvailable)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        #expect(!store.isAvailable)
        for attempt in [{ _ = try store.insert([record(2)]) }, { _ = try store.list(limit: 5, cursor: nil) }] {
            #expect {
                try attempt()
            } throws: { error in
                (error as? ServiceError)?.code == .storageUnavailable
            }
        }
        // Put back, the file opened is the one named again.
        try FileManager.default.moveItem(atPath: path + ".moved", toPath: path)
        #expect(store.isAvailable)
        #expect(try store.record(kept[0].id) == kept[0])
    }

    /// A cursor has one spelling: `s+5` and `s05` (base64url of them) were taken for `s5`.
    @Test func aCursorHasOneSpelling() {
        #expect(ListCursor(token: ListCursor(sequence: 5).token)?.token == ListCursor(sequence: 5).token)
        for text in ["s+5", "s05", "s 5", "s5 "] {
            #expect(ListCursor(token: Base64URL.encode(Array(text.utf8))) == nil, "\(text)")
        }
    }

    /// A delete journals itself with the record's removal, one transaction: the files a
    /// crash left behind are found again after the record is gone.
    @Test func aDeleteIsJournaledUntilItsFilesAreGone() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteMetadataStore(path: path)
        let records = try store.insert([record(1), record(2)])
        #expect(try store.unfinishedDeletions().isEmpty)
        #expect(try store.delete(records[1].id))
        let journaled = try store.unfinishedDeletions()
        #expect(journaled.count == 1 && journaled[0].id == records[1].id && journaled[0].format == .png)
        // Reopened (a restarted instance), the journal is still there.
        let reopened = try SQLiteMetadataStore(path: path)
        #expect(try reopened.unfinishedDeletions().map(\.id) == [records[1].id])
        try reopened.deletionFinished(records[1].id)
        #expect(try store.unfinishedDeletions().isEmpty)
        #expect(try !store.delete(records[1].id) && store.unfinishedDeletions().isEmpty)
    }

    /// A commit is on disk when it returns (an answered upload survives a power cut).
    @Test func commitsAreSynchronousInFull() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try SQLiteMetadataStore(path: path)
        let connection = try SQLiteDatabase(path: path)
        let level = try connection.withStatement("PRAGMA synchronous") { statement throws(SQLiteError) in
            try statement.step() ? statement.int(0) : -1
        }
        #expect(level == 2)  // FULL
    }

    /// A database another process keeps locked past the busy timeout is unavailable (503),
    /// not an internal error: an operator's `sqlite3` shell inside a transaction.
    @Test func aLockedDatabaseIsUnavailable() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteMetadataStore(path: path)
        let other = try SQLiteDatabase(path: path)
        try other.execute("BEGIN EXCLUSIVE")
        defer { try? other.execute("ROLLBACK") }
        // Waits out the 5-s busy timeout once.
        do {
            _ = try store.insert([record(4)])
            Issue.record("an insert went through an exclusive lock")
        } catch {
            #expect(error.code == .storageUnavailable)
        }
    }

    /// Every role's instance opens the database as the stack starts, all at once on a new
    /// data directory: SQLite answers BUSY without waiting where waiting cannot help a
    /// statement (a schema read made stale by another connection's `CREATE TABLE`, the
    /// switch to WAL), and 2 of 13 fresh starts had instances exit "cannot start" (a
    /// black-box probe). Twelve connections opening one new file at once, twenty times.
    @Test func manyOpeningANewDatabaseAtOnceAllStart() throws {
        for round in 0..<20 {
            let fresh = path + ".\(round)"
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: fresh + suffix) } }
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 12) { _ in
                do {
                    _ = try SQLiteMetadataStore(path: fresh)
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round)")
        }
    }

    /// `created_at` is read once the insert holds SQLite's write lock, not before it: while
    /// another connection keeps the lock for two seconds, the batch waits and is stamped
    /// after it. Stamped by the caller, an upload whose originals took a while to write was
    /// older than another that committed meanwhile, and listed above it.
    @Test func createdAtIsTakenUnderTheWriteLock() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteMetadataStore(path: path)
        let other = try SQLiteDatabase(path: path)
        let before = Timestamp.now()
        try other.execute("BEGIN IMMEDIATE")
        let released = DispatchSemaphore(value: 0)
        // A queue of its own: the global queue's threads may all be held by the other tests
        // running in parallel (the makeDirectories race test's mover never ran on it).
        DispatchQueue(label: "progimage.test.committer").asyncAfter(deadline: .now() + 2.1) {
            try? other.execute("COMMIT")
            released.signal()
        }
        let stamped = try store.insert([record(1)])
        released.wait()
        // Whole seconds: two of them passed while the lock was held.
        let seconds = { (stamp: String) in Int(stamp.dropLast().suffix(2))! + 60 * Int(stamp.dropLast(4).suffix(2))! }
        #expect((seconds(stamped[0].createdAt) - seconds(before) + 3600) % 3600 >= 2, "\(before) → \(stamped[0].createdAt)")
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
