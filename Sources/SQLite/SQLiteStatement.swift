internal import CSQLite

/// A prepared statement, finalized exactly once when it goes out of scope; only ever
/// lent by `SQLiteDatabase.withStatement`. Bind indexes are 1-based, columns 0-based.
public struct SQLiteStatement: ~Copyable {
    let raw: OpaquePointer
    let database: SQLiteDatabase

    deinit { sqlite3_finalize(raw) }

    public mutating func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        if let value {
            try database.check(sqlite3_bind_text(raw, index, value, -1, csqlite_transient()))
        } else {
            try database.check(sqlite3_bind_null(raw, index))
        }
    }

    public mutating func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try database.check(sqlite3_bind_int64(raw, index, value))
    }

    /// Advances; true while there is a row to read.
    public mutating func step() throws(SQLiteError) -> Bool {
        try database.check(sqlite3_step(raw)) == SQLITE_ROW
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    public func text(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(raw, column) else { return nil }
        return String(cString: text)
    }
}
