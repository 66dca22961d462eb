public import ProgimageAPI
import SQLite
import Synchronization

/// Metadata in one SQLite file (WAL, busy timeout, `BEGIN IMMEDIATE` for writes).
///
/// `seq` is the insertion order: the listing is strictly newest first even within one
/// second, and the cursor is the last `seq` returned. The worker's threads share one
/// connection; `lock` keeps one statement or transaction on it at a time (SQLite's own
/// serialized mode would still interleave two threads' BEGINs).
public final class SQLiteMetadataStore: MetadataStore {
    private let database: SQLiteDatabase
    private let lock = Mutex<Void>(())

    public init(path: String) throws(ServiceError) {
        do {
            database = try SQLiteDatabase(path: path)
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
                    source_url TEXT
                )
                """)
        } catch {
            throw Self.serviceError(error)
        }
    }

    public func insert(_ records: [ImageRecord]) throws(ServiceError) {
        try run { () throws(SQLiteError) in
            try database.transaction { () throws(SQLiteError) in
                for record in records { try insertRow(record) }
            }
        }
    }

    public func record(_ id: ImageID) throws(ServiceError) -> ImageRecord? {
        try run { () throws(SQLiteError) -> ImageRecord? in
            try database.withStatement("SELECT \(Self.columns) FROM images WHERE id = ?") { statement throws(SQLiteError) in
                try statement.bind(1, id.rawValue)
                return try statement.step() ? Self.record(from: statement).record : nil
            }
        }
    }

    public func list(limit: Int, cursor: ListCursor?) throws(ServiceError) -> (records: [ImageRecord], next: ListCursor?) {
        let rows = try run { () throws(SQLiteError) -> [(record: ImageRecord, sequence: Int64)] in
            try database.withStatement(
                "SELECT \(Self.columns) FROM images WHERE seq < ? ORDER BY seq DESC LIMIT ?"
            ) { statement throws(SQLiteError) in
                try statement.bind(1, cursor?.sequence ?? Int64.max)
                try statement.bind(2, Int64(limit + 1))
                var rows: [(record: ImageRecord, sequence: Int64)] = []
                while try statement.step() { rows.append(Self.record(from: statement)) }
                return rows
            }
        }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { ListCursor(sequence: $0.sequence) } : nil
        return (page.map(\.record), next)
    }

    public func delete(_ id: ImageID) throws(ServiceError) -> Bool {
        try run { () throws(SQLiteError) -> Bool in
            try database.withStatement("DELETE FROM images WHERE id = ? RETURNING seq") { statement throws(SQLiteError) in
                try statement.bind(1, id.rawValue)
                let found = try statement.step()
                while try statement.step() {}
                return found
            }
        }
    }

    private func insertRow(_ record: ImageRecord) throws(SQLiteError) {
        try database.withStatement(
            "INSERT INTO images (id, filename, format, width, height, bytes, sha256, created_at, source_url) VALUES (?,?,?,?,?,?,?,?,?)"
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
            _ = try statement.step()
        }
    }

    /// One statement or transaction at a time on the shared connection; SQLite errors
    /// become the contract's (disk full → 507, anything else → 500).
    private func run<T>(_ body: () throws(SQLiteError) -> T) throws(ServiceError) -> T {
        do {
            return try lock.withLock { _ throws(SQLiteError) -> T in try body() }
        } catch {
            throw Self.serviceError(error)
        }
    }

    private static let columns = "seq, id, filename, format, width, height, bytes, sha256, created_at, source_url"

    private static func record(from statement: borrowing SQLiteStatement) -> (record: ImageRecord, sequence: Int64) {
        let record = ImageRecord(
            id: ImageID(statement.text(1) ?? "") ?? ImageID.random(),
            filename: statement.text(2),
            format: ImageFormat(rawValue: statement.text(3) ?? "") ?? .jpg,
            width: Int(statement.int(4)),
            height: Int(statement.int(5)),
            bytes: Int(statement.int(6)),
            sha256: statement.text(7) ?? "",
            createdAt: statement.text(8) ?? "",
            sourceURL: statement.text(9))
        return (record, statement.int(0))
    }

    private static func serviceError(_ error: SQLiteError) -> ServiceError {
        error.isDiskFull
            ? ServiceError(.insufficientStorage, "no space left to store the image")
            : ServiceError(.internalError, error.description)
    }
}
