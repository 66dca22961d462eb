internal import CPostgres

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Not shared between threads: a pool hands it to one caller at a
/// time (libpq allows one command in flight per connection).
///
/// Statements run through the extended protocol with text parameters, so values are
/// never spliced into SQL. `prepared` statements are parsed once per connection and
/// forgotten on `reset()` (the server's session, and its statements, are gone then).
public final class PostgresConnection: @unchecked Sendable {
    private let raw: OpaquePointer
    private var preparedNames: [String: String] = [:]

    /// `url` is a libpq connection URI or keyword string; `connect_timeout` is appended
    /// after it, so the caller's own value (if any) is overridden by the service's bound.
    public init(url: String, connectTimeoutSeconds: Int) throws(PostgresError) {
        let keywords = ["dbname", "connect_timeout", "application_name"]
        let values = [url, String(max(2, connectTimeoutSeconds)), "progimage"]
        let handle = Self.withCStrings(keywords) { keys in
            Self.withCStrings(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let handle else { throw PostgresError(.connection, "libpq could not allocate a connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(.connection, message)
        }
        raw = handle
        _ = PQsetClientEncoding(raw, "UTF8")
    }

    deinit { PQfinish(raw) }

    public var isConnected: Bool { PQstatus(raw) == CONNECTION_OK }

    /// Reconnects with the same parameters; prepared statements are forgotten.
    public func reset() -> Bool {
        preparedNames.removeAll()
        PQreset(raw)
        return isConnected
    }

    /// Runs one statement (several, without parameters) and returns its rows as text.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        // PQexec takes several statements in one string; PQexecParams only one.
        if parameters.isEmpty { return try rows(of: PQexec(raw, sql)) }
        let result = Self.withCStrings(parameters) { values in
            PQexecParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try rows(of: result)
    }

    /// Like `execute`, through a statement prepared once per connection.
    @discardableResult
    public func executePrepared(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        let name: String
        if let known = preparedNames[sql] {
            name = known
        } else {
            name = "p\(preparedNames.count + 1)"
            _ = try rows(of: PQprepare(raw, name, sql, Int32(parameters.count), nil))
            preparedNames[sql] = name
        }
        let result = Self.withCStrings(parameters) { values in
            PQexecPrepared(raw, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try rows(of: result)
    }

    /// Notifications already received, after waiting up to `timeoutMilliseconds` for the
    /// socket to become readable. Empty on timeout; throws when the connection broke.
    public func notifications(waitingUpTo timeoutMilliseconds: Int32) throws(PostgresError) -> [PostgresNotification] {
        var received = drainNotifications()
        guard received.isEmpty else { return received }
        let ready = cpostgres_wait_readable(raw, timeoutMilliseconds)
        if ready < 0 && errno != EINTR { throw PostgresError(.connection, "the connection's socket is gone") }
        guard PQconsumeInput(raw) == 1 else { throw PostgresError(.connection, Self.trimmed(PQerrorMessage(raw))) }
        received = drainNotifications()
        return received
    }

    private func drainNotifications() -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let notice = PQnotifies(raw) {
            received.append(
                PostgresNotification(
                    channel: String(cString: notice.pointee.relname), payload: String(cString: notice.pointee.extra)))
            PQfreemem(notice)
        }
        return received
    }

    /// Copies a result out as text and frees it; an error result becomes `PostgresError`.
    private func rows(of result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(isConnected ? .statement : .connection, Self.trimmed(PQerrorMessage(raw)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            throw PostgresError(isConnected ? .statement : .connection, sqlState: state, message)
        }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                values.append(PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column)))
            }
            rows.append(values)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(rows: rows, affectedRows: affected)
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        var text = String(cString: message)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text.isEmpty ? "unknown libpq error" : text
    }

    /// A C array of C strings (NULL for nil), NULL-terminated as PQconnectdbParams needs
    /// (the count-taking calls ignore the extra entry), valid during `body`.
    private static func withCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
        defer { for copy in copies { free(copy) } }
        let constant = copies.map { UnsafePointer($0) } + [nil]
        return constant.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// Rows as text, in the server's column order; `affectedRows` from the command tag.
public struct PostgresRows: Sendable {
    public let rows: [[String?]]
    public let affectedRows: Int
}

/// One `NOTIFY` received on a `LISTEN`ing connection.
public struct PostgresNotification: Sendable, Equatable {
    public let channel: String
    public let payload: String
}
