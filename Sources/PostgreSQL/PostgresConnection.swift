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
///
/// Every statement waits for its answer at most `statementTimeout`: a server that hangs
/// (stopped, not down: the kernel still accepts its data) held a write for minutes, then
/// completed it after the client had gone. A statement past its bound throws `.timeout`
/// and leaves the connection unusable (`isConnected` false), so nobody reuses it.
public final class PostgresConnection: @unchecked Sendable {
    private let raw: OpaquePointer
    private var preparedNames: [String: String] = [:]
    private var statementTimeout: Duration
    private var timedOut = false

    /// `url` is a libpq connection URI or keyword string; `connect_timeout` is appended
    /// after it, so the caller's own value (if any) is overridden by the service's bound.
    public init(url: String, connectTimeoutSeconds: Int, statementTimeoutSeconds: Int) throws(PostgresError) {
        statementTimeout = .seconds(max(1, statementTimeoutSeconds))
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
        // libpq's default prints every notice to stderr: `CREATE TABLE IF NOT EXISTS`'s
        // "already exists, skipping" came with every `check` and every instance's start (a
        // black-box tester). Notices are not errors; errors come back from each statement.
        _ = PQsetNoticeProcessor(raw, { _, _ in }, nil)
        _ = PQsetClientEncoding(raw, "UTF8")
        // Sending never blocks either: a full socket buffer is waited on with the bound.
        _ = PQsetnonblocking(raw, 1)
    }

    deinit { PQfinish(raw) }

    /// Runs `body` with another bound on each statement (a schema migration, which may wait
    /// on another box's lock for longer than a request should).
    public func withStatementTimeout<T>(
        seconds: Int, _ body: (PostgresConnection) throws(PostgresError) -> T
    ) throws(PostgresError) -> T {
        let kept = statementTimeout
        statementTimeout = .seconds(max(1, seconds))
        defer { statementTimeout = kept }
        return try body(self)
    }

    public var isConnected: Bool { !timedOut && PQstatus(raw) == CONNECTION_OK }

    /// Reconnects with the same parameters; prepared statements are forgotten.
    public func reset() -> Bool {
        preparedNames.removeAll()
        PQreset(raw)
        _ = PQsetnonblocking(raw, 1)
        timedOut = false
        return isConnected
    }

    /// Runs one statement (several, without parameters) and returns its rows as text.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        // A simple query takes several statements in one string; the extended one only one.
        if parameters.isEmpty { return try rows(of: answer(to: PQsendQuery(raw, sql))) }
        let sent = Self.withCStrings(parameters) { values in
            PQsendQueryParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try rows(of: answer(to: sent))
    }

    /// Like `execute`, through a statement prepared once per connection.
    @discardableResult
    public func executePrepared(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        let name: String
        if let known = preparedNames[sql] {
            name = known
        } else {
            name = "p\(preparedNames.count + 1)"
            _ = try rows(of: answer(to: PQsendPrepare(raw, name, sql, Int32(parameters.count), nil)))
            preparedNames[sql] = name
        }
        let sent = Self.withCStrings(parameters) { values in
            PQsendQueryPrepared(raw, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try rows(of: answer(to: sent))
    }

    /// The result of the command just sent (`sent` is what the PQsend… call returned), as
    /// PQexec gives it: the last result, or the error that stopped the rest; nil when
    /// sending failed. Throws `.timeout` when the server is silent past the bound.
    private func answer(to sent: Int32) throws(PostgresError) -> OpaquePointer? {
        guard sent == 1 else { return nil }
        let clock = ContinuousClock()
        let deadline = clock.now + statementTimeout
        func wait(_ events: Int16) throws(PostgresError) {
            while true {
                let left = max(0, Int32((deadline - clock.now) / .milliseconds(1)))
                let ready = cpostgres_wait(raw, events, left)
                if ready > 0 { return }
                if ready < 0 && errno == EINTR { continue }
                timedOut = true
                let seconds = statementTimeout / .seconds(1)
                throw PostgresError(.timeout, ready == 0 ? "no answer from the server within \(seconds) s" : "the connection's socket is gone")
            }
        }
        // As libpq's documentation asks of a non-blocking send: while the output is not all
        // out, wait for either direction and read what the server sends meanwhile (it may
        // be waiting for us to read before it reads more).
        while true {
            let flushed = PQflush(raw)
            if flushed == 0 { break }
            if flushed < 0 { return nil }
            try wait(Int16(POLLOUT | POLLIN))
            if PQconsumeInput(raw) == 0 { return nil }
        }
        var last: OpaquePointer? = nil
        while true {
            while PQisBusy(raw) == 1 {
                do throws(PostgresError) {
                    try wait(Int16(POLLIN))
                } catch {
                    if let last { PQclear(last) }
                    throw error
                }
                // 0: the connection broke; PQgetResult then hands back the error.
                if PQconsumeInput(raw) == 0 { break }
            }
            guard let result = PQgetResult(raw) else { return last }
            if let last { PQclear(last) }
            last = result
        }
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
