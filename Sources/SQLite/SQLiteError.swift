internal import CSQLite

/// A SQLite result code other than OK/ROW/DONE, with `sqlite3_errmsg`'s text.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public var description: String { "SQLite error \(code): \(message)" }

    /// True when the disk (or its quota) is full: callers answer 507, not 500.
    public var isDiskFull: Bool { code & 0xFF == SQLITE_FULL }

    /// True when another connection held the lock past the busy timeout (an operator's
    /// `sqlite3` shell in a transaction, a backup): the database is there but cannot be
    /// reached for now, which callers answer 503.
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}
