#if canImport(Glibc)
import Glibc
#endif

/// One supervised child: what to run, whether it is running, and when to start it again.
struct ChildProcess {
    /// How it appears in the log: the worker's role, or "nginx".
    let name: String
    /// What to run; a worker's `input` is filled in from `listener` at each start.
    let request: SpawnRequest
    /// A child that must come up for the stack to be usable at all (nginx): if it exits
    /// before the stack is ready, start-up fails instead of retrying forever.
    let essential: Bool
    /// The front door (nginx) stops first and gracefully, while the workers behind it
    /// still answer, so requests already accepted get their responses.
    let stopsFirst: Bool
    /// SIGQUIT for nginx (graceful: it finishes in-flight requests; SIGTERM would drop
    /// them), SIGTERM for workers (they finish in-flight requests, then exit).
    let stopSignal: Int32
    /// Where a worker's listening socket lives; nil for nginx.
    let socketPath: String?
    /// The supervisor's copy of the worker's socket. Kept across restarts so queued
    /// connections survive; closed only while the worker is crash-looping (see `Supervisor`).
    var listener: ListeningSocket?
    var pid: pid_t?
    var startedAt: ContinuousClock.Instant
    var backoff = RestartBackoff()
    /// Set while the child is down and waiting for its restart.
    var restartAt: ContinuousClock.Instant?

    static func worker(role: String, request: SpawnRequest, listener: ListeningSocket) -> ChildProcess {
        ChildProcess(
            name: role, request: request, essential: false, stopsFirst: false, stopSignal: SIGTERM,
            socketPath: listener.path, listener: listener)
    }

    static func nginx(request: SpawnRequest) -> ChildProcess {
        ChildProcess(
            name: "nginx", request: request, essential: true, stopsFirst: true, stopSignal: SIGQUIT,
            socketPath: nil, listener: nil)
    }

    private init(
        name: String, request: SpawnRequest, essential: Bool, stopsFirst: Bool, stopSignal: Int32,
        socketPath: String?, listener: ListeningSocket?
    ) {
        self.name = name
        self.request = request
        self.essential = essential
        self.stopsFirst = stopsFirst
        self.stopSignal = stopSignal
        self.socketPath = socketPath
        self.listener = listener
        startedAt = .now
    }

    var isRunning: Bool { pid != nil }

    /// The request for the next start: a worker gets its socket (re-created if it was
    /// closed during a crash loop) as fd 0.
    mutating func nextRequest() throws(SupervisorError) -> SpawnRequest {
        guard let socketPath else { return request }
        let socket: ListeningSocket
        if let listener {
            socket = listener
        } else {
            socket = try ListeningSocket.bind(path: socketPath)
            listener = socket
        }
        var request = request
        request.input = .descriptor(socket.fd)
        return request
    }

    /// Closes and unlinks the socket so nginx gets "connection refused" and answers 502
    /// at once, instead of holding requests in a backlog nobody will accept from.
    mutating func refuseConnections() {
        listener?.close()
        listener = nil
    }
}

/// Human-readable durations for the log, without Foundation's formatters.
extension Duration {
    var secondsDescription: String {
        let (seconds, attoseconds) = components
        let tenths = seconds * 10 + attoseconds / 100_000_000_000_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }

    var millisecondsDescription: String {
        let (seconds, attoseconds) = components
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }
}
