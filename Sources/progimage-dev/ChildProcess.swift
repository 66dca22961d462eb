import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// One supervised child: what to run, whether it is running, and when to start it again.
struct ChildProcess {
    /// What the child is decides how it is started and stopped.
    enum Kind {
        /// The front door: it must come up for the stack to be usable at all (if it exits
        /// before the stack is ready, start-up fails instead of retrying forever), and it
        /// stops first and gracefully (SIGQUIT: it finishes in-flight requests; SIGTERM would
        /// drop them) while the workers behind it still answer.
        case nginx
        /// A role's worker, listening on the socket at `socketPath` as its fd 0; SIGTERM
        /// makes it finish in-flight requests, then exit.
        case worker(socketPath: String)
    }

    /// How it appears in the log: the worker's role, or "nginx".
    let name: String
    let kind: Kind
    /// What to run; a worker's `input` is set from `listener` at each start.
    let request: SpawnRequest
    /// The supervisor's copy of the worker's socket. Kept across restarts so queued
    /// connections survive; closed only while the worker is crash-looping (see `Supervisor`).
    var listener: ListeningSocket?
    var pid: pid_t?
    var startedAt: ContinuousClock.Instant = .now
    var backoff = RestartBackoff()
    /// Set while the child is down and waiting for its restart.
    var restartAt: ContinuousClock.Instant?

    static func worker(role: String, request: SpawnRequest, listener: ListeningSocket) -> ChildProcess {
        ChildProcess(name: role, kind: .worker(socketPath: listener.path), request: request, listener: listener)
    }

    static func nginx(request: SpawnRequest) -> ChildProcess {
        ChildProcess(name: "nginx", kind: .nginx, request: request, listener: nil)
    }

    private init(name: String, kind: Kind, request: SpawnRequest, listener: ListeningSocket?) {
        self.name = name
        self.kind = kind
        self.request = request
        self.listener = listener
    }

    /// The properties the supervisor asks for, each read off `kind` (see there for why).
    var essential: Bool { isNginx }
    var stopsFirst: Bool { isNginx }
    var stopSignal: Int32 { isNginx ? SIGQUIT : SIGTERM }
    var socketPath: String? { if case .worker(let path) = kind { path } else { nil } }
    private var isNginx: Bool { if case .nginx = kind { true } else { false } }

    var isRunning: Bool { pid != nil }

    /// The request for the next start: a worker gets its socket (re-created if it was
    /// closed during a crash loop) as fd 0.
    mutating func nextRequest() throws(SupervisorError) -> SpawnRequest {
        guard let socketPath else { return request }
        let socket: ListeningSocket
        if let listener {
            socket = listener
        } else {
            socket = try systemCall { () throws(SystemCallError) in try ListeningSocket.bind(path: socketPath) }
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
