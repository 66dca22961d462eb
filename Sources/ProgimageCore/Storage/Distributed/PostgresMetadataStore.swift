public import ProgimageAPI
import PostgreSQL

/// Metadata in PostgreSQL, shared by every box: the same rows, list order and cursors as
/// `SQLiteMetadataStore` (`seq` is the insertion order), plus the deletion log.
public final class PostgresMetadataStore: MetadataStore, DeletionLog, RecordsBeforePlaceholders {
    private let pool: PostgresPool
    static let channel = "progimage_deleted"
    private static let columns = "seq, id, filename, format, width, height, bytes, sha256, created_at, source_url, blurhash, has_alpha, frames"
    private static let insertSQL =
        "INSERT INTO images (id, filename, format, width, height, bytes, sha256, created_at, source_url, blurhash, has_alpha, frames) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"

    /// A record as the insert's text parameters, in `insertSQL`'s order.
    private static func parameters(of record: ImageRecord) -> [String?] {
        [
            record.id.rawValue, record.filename, record.format.rawValue, String(record.width), String(record.height),
            String(record.bytes), record.sha256, record.createdAt, record.sourceURL, record.blurhash,
            record.hasAlpha ? "true" : "false", String(record.frames),
        ]
    }

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public var isAvailable: Bool { pool.isAvailable }

    /// Whether the database at `url` has progimage's `images` table, asked on a connection
    /// of its own, before any pool migrates the schema into it: `check` must not take an
    /// empty or unrelated database for the service's.
    public static func holdsImages(url: String) throws(ServiceError) -> Bool {
        do {
            let connection = try PostgresConnection(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 30)
            return try connection.execute("SELECT to_regclass('images') IS NOT NULL").rows.first?.first == "t"
        } catch {
            throw PostgresPool.serviceError(error)
        }
    }

    /// Serializes the transactions that insert images, on every box, until they commit,
    /// so that `seq` (taken after it) is also the commit order and `created_at` (the
    /// database's clock, read under it) follows `seq`: without it a transaction could
    /// commit after a later one, and a listing paged between them skipped its records. Any
    /// constant key, the same on every box: "prog" in ASCII. Held for the few statements
    /// of an insert; a wait for it ends at `lock_timeout` as an ordinary statement error
    /// (503, the connection kept), not at the client's bound, which would take the wait for
    /// a hung server and drop the pool.
    private static let insertLock = 0x7072_6F67
    private static let lockWait = "SET LOCAL lock_timeout = '2s'"
    private static let lockAndClockSQL =
        "SELECT pg_advisory_xact_lock(\(insertLock)), to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

    /// In a transaction: waits for `insertLock`, then the database's time.
    private static func lockInserts(_ connection: PostgresConnection) throws(PostgresError) -> String {
        try connection.execute(lockWait)
        guard let now = try connection.executePrepared(lockAndClockSQL).rows.first?[1] else {
            throw PostgresError(.statement, "the database answered no time")
        }
        return now
    }

    /// `body` in a transaction under `insertLock`, given the database's time; a failed
    /// `body` rolls back. A `COMMIT` without an answer may have committed all the same
    /// (`outcomeUnknown`).
    private static func underInsertLock<T>(
        _ connection: PostgresConnection, _ body: (_ now: String) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        try connection.execute("BEGIN")
        let result: T
        do throws(PostgresError) {
            result = try body(try lockInserts(connection))
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        do throws(PostgresError) {
            try connection.execute("COMMIT")
        } catch {
            var unknown = error
            unknown.outcomeUnknown = error.kind != .statement
            throw unknown
        }
        return result
    }

    public func insert(_ records: [ImageRecord]) throws(ServiceError) -> [ImageRecord] {
        try pool.withConnection { connection throws(PostgresError) -> [ImageRecord] in
            try Self.underInsertLock(connection) { now throws(PostgresError) -> [ImageRecord] in
                let stamped = records.map { $0.created(at: now) }
                for record in stamped {
                    try connection.executePrepared(Self.insertSQL, Self.parameters(of: record))
                }
                return stamped
            }
        }
    }

    /// Inserts a record made elsewhere (migration) unless its id is already there; true
    /// when it was inserted. Safe to repeat. Under `insertLock` too, so that a migration
    /// beside serving boxes keeps `seq` the commit order; its `created_at` is the record's
    /// own (a migrated image is listed as new, with the time it was first uploaded).
    public func insertIfAbsent(_ record: ImageRecord) throws(ServiceError) -> Bool {
        try pool.withConnection { connection throws(PostgresError) -> Bool in
            try Self.underInsertLock(connection) { _ throws(PostgresError) -> Bool in
                try connection.executePrepared(Self.insertSQL + " ON CONFLICT (id) DO NOTHING", Self.parameters(of: record))
                    .affectedRows == 1
            }
        }
    }

    public func record(_ id: ImageID) throws(ServiceError) -> ImageRecord? {
        let rows = try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared("SELECT \(Self.columns) FROM images WHERE id = $1", [id.rawValue]).rows
        }
        return try rows.first.map { row throws(ServiceError) in try Self.record(row) }
    }

    public func list(limit: Int, cursor: ListCursor?) throws(ServiceError) -> (records: [ImageRecord], next: ListCursor?) {
        let rows = try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared(
                "SELECT \(Self.columns) FROM images WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                [String(cursor?.sequence ?? Int64.max), String(limit + 1)]
            ).rows
        }
        var records: [ImageRecord] = []
        var lastSequence: Int64 = 0
        for row in rows.prefix(limit) {
            records.append(try Self.record(row))
            lastSequence = Int64(row[0] ?? "") ?? 0
        }
        return (records, rows.count > limit ? ListCursor(sequence: lastSequence) : nil)
    }

    public func recordsWithoutPlaceholders(after sequence: Int64, limit: Int) throws(ServiceError) -> [(sequence: Int64, record: ImageRecord)] {
        let rows = try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared(
                "SELECT \(Self.columns) FROM images WHERE blurhash IS NULL AND seq > $1 ORDER BY seq LIMIT $2",
                [String(sequence), String(limit)]
            ).rows
        }
        var records: [(sequence: Int64, record: ImageRecord)] = []
        for row in rows { records.append((Int64(row[0] ?? "") ?? 0, try Self.record(row))) }
        return records
    }

    public func setPlaceholders(of id: ImageID, blurhash: String, hasAlpha: Bool, frames: Int) throws(ServiceError) {
        _ = try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared(
                "UPDATE images SET blurhash = $1, has_alpha = $2, frames = $3 WHERE id = $4 AND blurhash IS NULL",
                [blurhash, hasAlpha ? "true" : "false", String(frames), id.rawValue])
        }
    }

    /// Removes the row and writes its tombstone in one statement (one transaction); the
    /// `NOTIFY` is delivered to every listening box when it commits.
    public func delete(_ id: ImageID) throws(ServiceError) -> Bool {
        try pool.withConnection { connection throws(PostgresError) in
            try !connection.executePrepared(
                """
                WITH gone AS (DELETE FROM images WHERE id = $1 RETURNING id, format),
                     logged AS (INSERT INTO tombstones (id, format) SELECT id, format FROM gone RETURNING seq, id)
                SELECT seq, pg_notify('\(Self.channel)', id) FROM logged
                """, [id.rawValue]
            ).rows.isEmpty
        }
    }

    /// Dated 10 s ahead, so that the fan-out's first DELETE comes well after a store that
    /// resumed at once has finished the PUTs it held (a DELETE served before such a PUT
    /// would leave the object for good: the entry is marked done after one removal). A
    /// store that hangs longer can still lose that race; `check` reports what it leaves.
    public func logAbandoned(_ images: [(id: ImageID, format: ImageFormat)]) throws(ServiceError) {
        guard !images.isEmpty else { return }
        try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared(
                """
                INSERT INTO tombstones (id, format, deleted_at)
                SELECT id, format, now() + interval '10 seconds' FROM unnest($1::text[], $2::text[]) AS abandoned (id, format)
                """,
                [Self.textArray(images.map(\.id.rawValue)), Self.textArray(images.map(\.format.rawValue))])
        }
    }

    /// A PostgreSQL array literal of ids or extensions (`[A-Za-z0-9_-]`: nothing to quote).
    private static func textArray(_ values: [String]) -> String { "{" + values.joined(separator: ",") + "}" }

    /// Whether the log holds a delete of `id` (for 30 days, `DeletionFanOut.retentionDays`).
    public func isDeleted(_ id: ImageID) throws(ServiceError) -> Bool {
        try pool.withConnection { connection throws(PostgresError) in
            try !connection.executePrepared("SELECT 1 FROM tombstones WHERE id = $1 LIMIT 1", [id.rawValue]).rows.isEmpty
        }
    }

    public func tombstones(after sequence: Int64, limit: Int) throws(ServiceError) -> [Tombstone] {
        try tombstones("SELECT seq, id, format FROM tombstones WHERE seq > $1 ORDER BY seq LIMIT $2", [String(sequence), String(limit)])
    }

    public func tombstonesAwaitingObjectRemoval(limit: Int) throws(ServiceError) -> [Tombstone] {
        // Five seconds: the deleting box removes the object itself right after the record.
        try tombstones(
            "SELECT seq, id, format FROM tombstones WHERE NOT object_removed AND deleted_at < now() - interval '5 seconds' ORDER BY seq LIMIT $1",
            [String(limit)])
    }

    public func markObjectRemoved(_ id: ImageID) throws(ServiceError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared("UPDATE tombstones SET object_removed = true WHERE id = $1", [id.rawValue])
        }
    }

    public func forgetTombstones(olderThanDays days: Int) throws(ServiceError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.executePrepared(
                "DELETE FROM tombstones WHERE object_removed AND deleted_at < now() - make_interval(days => $1::int)", [String(days)])
        }
    }

    public func listener() throws(ServiceError) -> any DeletionListener {
        let connection = try pool.dedicatedConnection()
        do {
            try connection.execute("LISTEN \(Self.channel)")
        } catch {
            throw PostgresPool.serviceError(error)
        }
        return PostgresDeletionListener(connection: connection)
    }

    private func tombstones(_ sql: String, _ parameters: [String?]) throws(ServiceError) -> [Tombstone] {
        let rows = try pool.withConnection { connection throws(PostgresError) in try connection.executePrepared(sql, parameters).rows }
        var found: [Tombstone] = []
        for row in rows {
            guard let sequence = row[0].flatMap({ Int64($0) }), let id = row[1].flatMap({ ImageID($0) }),
                let format = row[2].flatMap({ ImageFormat(rawValue: $0) })
            else { throw ServiceError(.internalError, "tombstone row is damaged") }
            found.append(Tombstone(sequence: sequence, id: id, format: format))
        }
        return found
    }

    /// A row in `columns` order; a damaged one is an error, never a made-up record.
    private static func record(_ row: [String?]) throws(ServiceError) -> ImageRecord {
        guard row.count == 13, let id = row[1].flatMap({ ImageID($0) }), let format = row[3].flatMap({ ImageFormat(rawValue: $0) }),
            let width = row[4].flatMap({ Int($0) }), let height = row[5].flatMap({ Int($0) }), let bytes = row[6].flatMap({ Int($0) }),
            let sha256 = row[7], !sha256.isEmpty, let createdAt = row[8], !createdAt.isEmpty
        else { throw ServiceError(.internalError, "metadata row \(row.first.flatMap { $0 } ?? "?") is damaged") }
        return ImageRecord(
            id: id, filename: row[2], format: format, width: width, height: height, bytes: bytes, sha256: sha256,
            createdAt: createdAt, sourceURL: row[9], blurhash: row[10], hasAlpha: row[11] == "t",
            frames: row[12].flatMap { Int($0) } ?? 1)
    }
}

/// The `LISTEN`ing connection of one box's deletion fan-out.
final class PostgresDeletionListener: DeletionListener {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    func waitForDeletion(timeoutMilliseconds: Int32) throws(ServiceError) -> Bool {
        do {
            return !(try connection.notifications(waitingUpTo: timeoutMilliseconds)).isEmpty
        } catch {
            throw PostgresPool.serviceError(error)
        }
    }
}
