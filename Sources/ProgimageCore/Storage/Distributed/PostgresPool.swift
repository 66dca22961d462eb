import ProgimageAPI
import PostgreSQL
import Synchronization

/// PostgreSQL connections for one process: each request thread takes one, uses it alone,
/// and gives it back, so in steady state every thread has its own connection with its
/// prepared statements.
///
/// A connection that failed at the connection level is dropped, not returned. After a
/// failed connect, further connects wait out a backoff (0.25 s doubling to 4 s) and
/// answer `503 storage_unavailable` at once meanwhile, so an outage costs callers no
/// time and the database no connection storm; the first connect after the backoff that
/// succeeds ends the outage. The schema is migrated by the first connection that works.
///
/// A statement that gets no answer within `statementTimeoutSeconds` (a server that hangs)
/// is `503` too, and is not run again on a fresh connection (its outcome is unknown, and
/// a hung server would hang that one as well): the connect backoff starts instead, so the
/// requests behind it answer at once.
public final class PostgresPool: Sendable {
    private let url: String
    private let connectTimeoutSeconds: Int
    private let statementTimeoutSeconds: Int
    private let idle = Mutex<[PostgresConnection]>([])
    private let outage = Mutex<(retryAt: ContinuousClock.Instant?, backoff: Duration)>((nil, .milliseconds(250)))
    private let migrated = Atomic<Bool>(false)

    public init(url: String, connectTimeoutSeconds: Int, statementTimeoutSeconds: Int) {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutSeconds = statementTimeoutSeconds
    }

    /// Lends a connection to `body`; connection-level failures become 503.
    ///
    /// A pooled connection may have died while idle (the server restarted): the first use
    /// finds out. Then every idle connection is presumed dead too, and `body` runs once
    /// more on a fresh one, so a database restart costs no request an error.
    @discardableResult
    func withConnection<T>(_ body: (PostgresConnection) throws(PostgresError) -> T) throws(ServiceError) -> T {
        if let pooled = idle.withLock({ $0.popLast() }) {
            do {
                return try run(body, on: pooled)
            } catch let error where error.kind == .timeout || error.outcomeUnknown {
                idle.withLock { $0.removeAll() }
                startBackoff()
                throw Self.serviceError(error)
            } catch let error where error.isUnavailable {
                idle.withLock { $0.removeAll() }
            } catch {
                throw Self.serviceError(error)
            }
        }
        let connection: PostgresConnection
        do {
            connection = try connect()  // starts the backoff itself when it fails
        } catch {
            throw Self.serviceError(error)
        }
        do {
            return try run(body, on: connection)
        } catch {
            if error.kind == .timeout { startBackoff() }
            throw Self.serviceError(error)
        }
    }

    private func run<T>(_ body: (PostgresConnection) throws(PostgresError) -> T, on connection: PostgresConnection) throws(PostgresError) -> T {
        do {
            let result = try body(connection)
            idle.withLock { $0.append(connection) }
            return result
        } catch {
            if connection.isConnected && !error.isUnavailable { idle.withLock { $0.append(connection) } }
            throw error
        }
    }

    /// A new connection of its own (for `LISTEN`), outside the pool.
    func dedicatedConnection() throws(ServiceError) -> PostgresConnection {
        do {
            return try connect()
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// True when a connection can be had and answers.
    public var isAvailable: Bool {
        (try? withConnection { connection throws(PostgresError) in try connection.execute("SELECT 1") }) != nil
    }

    private func connect() throws(PostgresError) -> PostgresConnection {
        let clock = ContinuousClock()
        if let retryAt = outage.withLock({ $0.retryAt }), clock.now < retryAt {
            throw PostgresError(.connection, "the last connection attempt failed; retrying shortly")
        }
        do {
            let connection = try PostgresConnection(
                url: url, connectTimeoutSeconds: connectTimeoutSeconds, statementTimeoutSeconds: statementTimeoutSeconds)
            // A box that stops (frozen, cut off) inside a transaction would keep its locks,
            // the insert lock among them, until TCP gives up, which can take hours: the
            // server ends such a session after this long idle in it.
            try connection.execute("SET idle_in_transaction_session_timeout = '10s'")
            if !migrated.load(ordering: .acquiring) {
                // Another box may hold the migration lock for a while: not a hung server.
                try connection.withStatementTimeout(seconds: 60) { connection throws(PostgresError) in
                    try PostgresSchema.migrate(connection)
                }
                migrated.store(true, ordering: .releasing)
            }
            outage.withLock { $0 = (nil, .milliseconds(250)) }
            return connection
        } catch {
            startBackoff()
            throw error
        }
    }

    /// No new connection is tried before the backoff has passed (0.25 s doubling to 4 s).
    private func startBackoff() {
        let now = ContinuousClock().now
        outage.withLock { state in
            state.retryAt = now + state.backoff
            state.backoff = min(state.backoff * 2, .seconds(4))
        }
    }

    static func serviceError(_ error: PostgresError) -> ServiceError {
        if error.isLockTimeout {
            return ServiceError(.storageUnavailable, "the database is busy with other writes: \(error.message)")
        }
        return error.isUnavailable
            ? ServiceError(.storageUnavailable, "the database is unavailable: \(error.message)", outcomeUnknown: error.outcomeUnknown)
            : ServiceError(.internalError, error.description)
    }
}
