import POSIX
public import ProgimageAPI
import SQLite
import Synchronization

/// Metadata in one SQLite file (WAL, busy timeout, `BEGIN IMMEDIATE` for writes).
///
/// `seq` is the insertion order: the listing is strictly newest first even within one
/// second, and the cursor is the last `seq` returned. The worker's threads share one
/// connection; `lock` keeps one statement or transaction on it at a time (SQLite's own
/// serialized mode would still interleave two threads' BEGINs).
public final class SQLiteMetadataStore: MetadataStore, UnfinishedDeletions, RecordsBeforePlaceholders {
    private let database: SQLiteDatabase
    private let lock = Mutex<Void>(())
    private let path: String
    /// The file opened. A database removed under a running instance stays open unlinked:
    /// uploads were answered 201 into it, and lost when the instance restarted on a new
    /// empty one (a black-box tester), so every statement first checks that `path` still
    /// names this file.
    private let opened: Files.FileIdentity?

    public init(path: String) throws(ServiceError) {
        self.path = path
        do {
            database = try SQLiteDatabase(path: path)
            // Each role's instance does this at start, all at once on a new data directory:
            // one write transaction, retried while another process holds the database.
            let database = self.database
            try database.retryingWhileBusy { () throws(SQLiteError) in
                try database.transaction { () throws(SQLiteError) in
                    try database.execute(
                        """
                        CREATE TABLE IF NOT EXISTS images (
                            seq INTEGER PRIMARY KEY AUTOINCREMENT,
                            id TEXT NOT NULL UNIQUE,
                            filename TEXT,
                            format TEXT NOT NULL,
                            width INTEGER NOT NULL,
                            height INTEGER NOT NULL,
                            bytes INTEGER NOT NULL,
                            sha256 TEXT NOT NULL,
                            created_at TEXT NOT NULL,
                            source_url TEXT,
                            blurhash TEXT,
                            has_alpha INTEGER NOT NULL DEFAULT 0,
                            frames INTEGER NOT NULL DEFAULT 1
                        )
                        """)
                    // Databases made before the placeholder columns existed gain them.
                    let existing = try database.withStatement("SELECT name FROM pragma_table_info('images')") { statement throws(SQLiteError) in
                        var names: Set<String> = []
                        while try statement.step() { if let name = statement.text(0) { names.insert(name) } }
                        return names
                    }
                    if !existing.contains("blurhash") { try database.execute("ALTER TABLE images ADD COLUMN blurhash TEXT") }
                    if !existing.contains("has_alpha") {
                        try database.execute("ALTER TABLE images ADD COLUMN has_alpha INTEGER NOT NULL DEFAULT 0")
                    }
                    if !existing.contains("frames") { try database.execute("ALTER TABLE images ADD COLUMN frames INTEGER NOT NULL DEFAULT 1") }
                    // Those records are looked for at every start of the api instance
                    // (`PlaceholderBackfill`): without this index, a read of the whole table.
                    try database.execute("CREATE INDEX IF NOT EXISTS images_without_placeholders ON images (seq) WHERE blurhash IS NULL")
                    // Every delete, kept: `files_removed` 0 until its files are gone
                    // (`UnfinishedDeletions`), and read by `migrate`, whose later passes delete in
                    // PostgreSQL what was deleted here since an earlier one.
                    try database.execute(
                        """
                        CREATE TABLE IF NOT EXISTS deletions (
                            id TEXT PRIMARY KEY, format TEXT NOT NULL, files_removed INTEGER NOT NULL DEFAULT 0)
                        """)
                }
            }
            opened = Files.identity(of: path)
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// Whether the file at `path` is a progimage database (it has the `images` table),
    /// read without writing to it: `check` must not take an empty or unrelated file for
    /// one (it made its tables in it, and every original then looked orphaned).
    public static func holdsImages(at path: String) throws(ServiceError) -> Bool {
        do {
            let database = try SQLiteDatabase(path: path, readOnly: true)
            return try database.withStatement("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'images'") {
                statement throws(SQLiteError) in try statement.step() && statement.int(0) == 1
            }
        } catch {
            throw Self.serviceError(error)
        }
    }

    public func insert(_ records: [ImageRecord]) throws(ServiceError) -> [ImageRecord] {
        try run { () throws(SQLiteError) -> [ImageRecord] in
            // Stamped inside `BEGIN IMMEDIATE`: SQLite's write lock orders the inserts of
            // every process on this file.
            try database.transaction { () throws(SQLiteError) -> [ImageRecord] in
                let now = Timestamp.now()
                let stamped = records.map { $0.created(at: now) }
                for record in stamped { try insertRow(record) }
                return stamped
            }
        }
    }

    public func record(_ id: ImageID) throws(ServiceError) -> ImageRecord? {
        try run { () throws(SQLiteError) -> StoredRow? in
            try database.withStatement("SELECT \(Self.columns) FROM images WHERE id = ?") { statement throws(SQLiteError) in
                try statement.bind(1, id.rawValue)
                return try statement.step() ? StoredRow(statement) : nil
            }
        }?.record()
    }

    public func list(limit: Int, cursor: ListCursor?) throws(ServiceError) -> (records: [ImageRecord], next: ListCursor?) {
        let rows = try rows(where: "seq < ? ORDER BY seq DESC", after: cursor?.sequence ?? Int64.max, limit: limit + 1)
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { ListCursor(sequence: $0.sequence) } : nil
        var records: [ImageRecord] = []
        for row in page { records.append(try row.record()) }
        return (records, next)
    }

    /// Oldest first, after `sequence` (0: from the start): `progimage-fcgi migrate` copies
    /// the rows in the order they were made, so the list keeps its order.
    public func records(after sequence: Int64, limit: Int) throws(ServiceError) -> [(sequence: Int64, record: ImageRecord)] {
        try rows(where: "seq > ? ORDER BY seq", after: sequence, limit: limit).map { row throws(ServiceError) in
            (row.sequence, try row.record())
        }
    }

    public func recordsWithoutPlaceholders(after sequence: Int64, limit: Int) throws(ServiceError) -> [(sequence: Int64, record: ImageRecord)] {
        try rows(where: "blurhash IS NULL AND seq > ? ORDER BY seq", after: sequence, limit: limit).map { row throws(ServiceError) in
            (row.sequence, try row.record())
        }
    }

    /// Rows by `condition` (one `?`: `sequence`) and order, at most `limit`.
    private func rows(where condition: String, after sequence: Int64, limit: Int) throws(ServiceError) -> [StoredRow] {
        try run { () throws(SQLiteError) -> [StoredRow] in
            try database.withStatement("SELECT \(Self.columns) FROM images WHERE \(condition) LIMIT ?") { statement throws(SQLiteError) in
                try statement.bind(1, sequence)
                try statement.bind(2, Int64(limit))
                var rows: [StoredRow] = []
                while try statement.step() { rows.append(StoredRow(statement)) }
                return rows
            }
        }
    }

    public func setPlaceholders(of id: ImageID, blurhash: String, hasAlpha: Bool, frames: Int) throws(ServiceError) {
        try run { () throws(SQLiteError) in
            try database.withStatement(
                "UPDATE images SET blurhash = ?, has_alpha = ?, frames = ? WHERE id = ? AND blurhash IS NULL"
            ) { statement throws(SQLiteError) in
                try statement.bind(1, blurhash)
                try statement.bind(2, Int64(hasAlpha ? 1 : 0))
                try statement.bind(3, Int64(frames))
                try statement.bind(4, id.rawValue)
                _ = try statement.step()
            }
        }
    }

    /// Removes the record and, in the same transaction, records the deletion
    /// (`UnfinishedDeletions` until its files are gone).
    public func delete(_ id: ImageID) throws(ServiceError) -> Bool {
        try run { () throws(SQLiteError) -> Bool in
            try database.transaction { () throws(SQLiteError) -> Bool in
                let format = try database.withStatement("DELETE FROM images WHERE id = ? RETURNING format") {
                    statement throws(SQLiteError) -> String? in
                    try statement.bind(1, id.rawValue)
                    let format = try statement.step() ? statement.text(0) : nil
                    while try statement.step() {}
                    return format
                }
                guard let format else { return false }
                try database.withStatement("INSERT OR REPLACE INTO deletions (id, format, files_removed) VALUES (?, ?, 0)") {
                    statement throws(SQLiteError) in
                    try statement.bind(1, id.rawValue)
                    try statement.bind(2, format)
                    _ = try statement.step()
                }
                return true
            }
        }
    }

    public func unfinishedDeletions() throws(ServiceError) -> [(id: ImageID, format: ImageFormat)] {
        let rows = try run { () throws(SQLiteError) -> [(String?, String?)] in
            try database.withStatement("SELECT id, format FROM deletions WHERE files_removed = 0") { statement throws(SQLiteError) in
                var rows: [(String?, String?)] = []
                while try statement.step() { rows.append((statement.text(0), statement.text(1))) }
                return rows
            }
        }
        // A row that does not parse names no file this service could have written.
        return rows.compactMap { id, format in
            guard let id = id.flatMap(ImageID.init), let format = format.flatMap(ImageFormat.init(rawValue:)) else { return nil }
            return (id, format)
        }
    }

    /// Every image ever deleted here (`migrate`).
    public func deletedIDs() throws(ServiceError) -> [ImageID] {
        let ids = try run { () throws(SQLiteError) -> [String?] in
            try database.withStatement("SELECT id FROM deletions") { statement throws(SQLiteError) in
                var ids: [String?] = []
                while try statement.step() { ids.append(statement.text(0)) }
                return ids
            }
        }
        return ids.compactMap { $0.flatMap(ImageID.init) }
    }

    public func deletionFinished(_ id: ImageID) throws(ServiceError) {
        try run { () throws(SQLiteError) in
            try database.withStatement("UPDATE deletions SET files_removed = 1 WHERE id = ?") { statement throws(SQLiteError) in
                try statement.bind(1, id.rawValue)
                _ = try statement.step()
            }
        }
    }

    private func insertRow(_ record: ImageRecord) throws(SQLiteError) {
        try database.withStatement(
            "INSERT INTO images (id, filename, format, width, height, bytes, sha256, created_at, source_url, blurhash, has_alpha, frames) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
        ) { statement throws(SQLiteError) in
            try statement.bind(1, record.id.rawValue)
            try statement.bind(2, record.filename)
            try statement.bind(3, record.format.rawValue)
            try statement.bind(4, Int64(record.width))
            try statement.bind(5, Int64(record.height))
            try statement.bind(6, Int64(record.bytes))
            try statement.bind(7, record.sha256)
            try statement.bind(8, record.createdAt)
            try statement.bind(9, record.sourceURL)
            try statement.bind(10, record.blurhash)
            try statement.bind(11, Int64(record.hasAlpha ? 1 : 0))
            try statement.bind(12, Int64(record.frames))
            _ = try statement.step()
        }
    }

    /// One statement or transaction at a time on the shared connection; SQLite errors
    /// become the contract's (disk full → 507, locked past the busy timeout → 503,
    /// anything else → 500).
    private func run<T>(_ body: () throws(SQLiteError) -> T) throws(ServiceError) -> T {
        guard isAvailable else {
            throw ServiceError(
                .storageUnavailable,
                "the database file was removed or replaced while the service ran: put it back, then restart the service")
        }
        do {
            return try lock.withLock { _ throws(SQLiteError) -> T in try body() }
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// Whether `path` still names the file opened (`opened`): false once it was removed or
    /// replaced, and every statement is then `503 storage_unavailable`. A stat (~1 µs).
    public var isAvailable: Bool { opened == nil || Files.identity(of: path) == opened }

    static let columns = "seq, id, filename, format, width, height, bytes, sha256, created_at, source_url, blurhash, has_alpha, frames"

    private static func serviceError(_ error: SQLiteError) -> ServiceError {
        if error.isDiskFull { return ServiceError(.insufficientStorage, "no space left to store the image") }
        if error.isBusy {
            return ServiceError(.storageUnavailable, "the database is locked by another process: try again")
        }
        return ServiceError(.internalError, error.description)
    }
}

/// A row as stored, read inside the lock; made into an `ImageRecord` outside it. A row
/// whose id or format does not parse, or whose digest or date is missing (a damaged
/// database), is an error, never a record with an id made up on the spot. One such row
/// fails the whole page that holds it.
private struct StoredRow {
    let sequence: Int64
    let id: String?
    let filename: String?
    let format: String?
    let width: Int64
    let height: Int64
    let bytes: Int64
    let sha256: String?
    let createdAt: String?
    let sourceURL: String?
    let blurhash: String?
    let hasAlpha: Bool
    let frames: Int

    /// Columns in `SQLiteMetadataStore.columns` order.
    init(_ statement: borrowing SQLiteStatement) {
        sequence = statement.int(0)
        id = statement.text(1)
        filename = statement.text(2)
        format = statement.text(3)
        (width, height, bytes) = (statement.int(4), statement.int(5), statement.int(6))
        sha256 = statement.text(7)
        createdAt = statement.text(8)
        sourceURL = statement.text(9)
        blurhash = statement.text(10)
        hasAlpha = statement.int(11) != 0
        frames = Int(max(1, statement.int(12)))
    }

    func record() throws(ServiceError) -> ImageRecord {
        guard let id = id.flatMap({ ImageID($0) }), let format = format.flatMap({ ImageFormat(rawValue: $0) }),
            let sha256, !sha256.isEmpty, let createdAt, !createdAt.isEmpty
        else { throw ServiceError(.internalError, "metadata row \(sequence) is damaged") }
        return ImageRecord(
            id: id, filename: filename, format: format, width: Int(width), height: Int(height), bytes: Int(bytes),
            sha256: sha256, createdAt: createdAt, sourceURL: sourceURL, blurhash: blurhash, hasAlpha: hasAlpha, frames: frames)
    }
}
