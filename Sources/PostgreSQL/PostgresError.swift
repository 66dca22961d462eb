/// A libpq failure: the connection (server down, network, authentication) or one statement
/// (with its SQLSTATE).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// `timeout`: no answer within the connection's statement bound (a server that hangs
    /// rather than refuses); the statement's outcome is unknown.
    public enum Kind: Sendable { case connection, statement, timeout }

    public let kind: Kind
    /// The five-character SQLSTATE of a statement error, when the server sent one.
    public let sqlState: String?
    public let message: String
    /// Set by a caller whose `COMMIT` failed this way (a timeout, a lost connection): the
    /// transaction may have committed all the same.
    public var outcomeUnknown = false

    public init(_ kind: Kind, sqlState: String? = nil, _ message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { "PostgreSQL \(sqlState.map { "\($0) " } ?? "")\(message)" }

    /// The server could not be reached or is going away (SQLSTATE classes 08 connection
    /// exception, 57 operator intervention — shutdown —, 53 insufficient resources): retrying
    /// later can succeed; the statement itself was not at fault.
    public var isUnavailable: Bool {
        if kind == .connection || kind == .timeout { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("57") || sqlState.hasPrefix("53")
    }

    /// `lock_not_available`: a `lock_timeout` ran out; the transaction is aborted, the
    /// connection fine.
    public var isLockTimeout: Bool { sqlState == "55P03" }

    /// `unique_violation`: a concurrent writer got there first.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}
