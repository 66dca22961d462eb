internal import CSQLite

/// A SQLite result code other than OK/ROW/DONE, with `sqlite3_errmsg`'s text.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }

    /// True when the disk (or its quota) is full: callers answer 507, not 500.
    public var isDiskFull: Bool { code & 0xFF == SQLITE_FULL }
}
