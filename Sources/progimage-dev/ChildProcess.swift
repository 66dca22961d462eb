#if canImport(Glibc)
import Glibc
#endif

/// One supervised child: what to run, whether it is running, and when to start it again.
struct ChildProcess: Sendable {
    /// How it appears in the log: the worker's role, or "nginx".
    let name: String
    let request: SpawnRequest
    /// A child that must come up for the stack to be usable at all (nginx): if it exits
    /// before the stack is ready, start-up fails instead of retrying forever.
    let essential: Bool
    var pid: pid_t?
    var startedAt: ContinuousClock.Instant
    var backoff = RestartBackoff()
    /// Set while the child is down and waiting for its restart.
    var restartAt: ContinuousClock.Instant?

    init(name: String, request: SpawnRequest, essential: Bool = false) {
        self.name = name
        self.request = request
        self.essential = essential
        startedAt = .now
    }

    var isRunning: Bool { pid != nil }
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
