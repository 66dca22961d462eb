internal import CSQLite

/// One SQLite connection, opened in serialized mode so worker threads may share it.
///
/// WAL with a busy timeout: measured here, 6 processes × 20,000 writes saw no
/// SQLITE_BUSY with `busy_timeout=5000` and `BEGIN IMMEDIATE`, against 80–98% failures
/// without the timeout.
public final class SQLiteDatabase: @unchecked Sendable {
    let raw: OpaquePointer

    public init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_FULLMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            sqlite3_close(handle)
            throw SQLiteError(code: rc, message: message)
        }
        raw = handle
        sqlite3_busy_timeout(raw, 5000)
        if !readOnly {
            try retryingWhileBusy { () throws(SQLiteError) in try execute("PRAGMA journal_mode=WAL") }
            // FULL: a commit is on disk when it returns, as the original's file already is
            // (fsynced with its folder) when the upload answers. NORMAL may lose the last
            // commits to a power cut: an answered upload gone, its original an orphan.
            try execute("PRAGMA synchronous=FULL")
        }
    }

    deinit { sqlite3_close_v2(raw) }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        try check(sqlite3_exec(raw, sql, nil, nil, nil))
    }

    /// Prepares `sql`, lends the statement to `body`, and finalizes it afterwards.
    public func withStatement<T>(_ sql: String, _ body: (inout SQLiteStatement) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        var statement: OpaquePointer?
        try check(sqlite3_prepare_v2(raw, sql, -1, &statement, nil))
        guard let statement else { throw SQLiteError(code: SQLITE_MISUSE, message: "empty statement") }
        var wrapped = SQLiteStatement(raw: statement, database: self)
        return try body(&wrapped)
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, sleeping up to `milliseconds` in
    /// all between tries. For what the busy timeout does not cover: SQLite answers BUSY at
    /// once, without waiting, where waiting cannot help that statement (a read snapshot
    /// another process's commit made stale, a journal-mode change or WAL recovery under way
    /// elsewhere). Roles starting
    /// together on a new data directory met it making the tables: 2 of 13 starts had
    /// instances exit "cannot start" (a black-box probe), which systemd does not retry.
    public func retryingWhileBusy<T>(milliseconds: Int32 = 10_000, _ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        var slept: Int32 = 0
        var pause: Int32 = 10
        while true {
            do {
                return try body()
            } catch where error.isBusy && slept < milliseconds {
                slept += sqlite3_sleep(pause)
                pause = min(pause * 2, 200)
            }
        }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    public func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// SQLite's convention → Swift's: anything but OK, ROW or DONE becomes `SQLiteError`.
    @discardableResult
    func check(_ rc: Int32) throws(SQLiteError) -> Int32 {
        switch rc {
        case SQLITE_OK, SQLITE_ROW, SQLITE_DONE: return rc
        default: throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(raw)))
        }
    }
}
