import ProgimageDeployment
/// When to start a supervised child again after it exits.
///
/// A clean exit (status 0) is a worker recycling itself after N requests (libgd leaks, see
/// `ServiceConfiguration.recycleAfterRequests`): it restarts at once so the queue on the
/// supervisor-owned socket barely waits. Anything else is a crash: back off exponentially so
/// a child that dies at start does not spin the CPU or flood the log, and forget the
/// history once a child has stayed up long enough to count as healthy.
struct RestartPolicy: Sendable, Equatable {
    var initialDelay: Duration = .milliseconds(100)
    /// Under the contract's 5 s for an instance that dies to serve again, with its start
    /// on top: at 5 s a crash loop came back after 5.06–5.09 s, and at 4 s after 4.08–4.22 s
    /// on a loaded box (a helper's timing runs), too close to the 5 s a test holds it to.
    var maximumDelay: Duration = .seconds(3)
    var healthyRuntime: Duration = .seconds(10)
}

/// One child's crash history under a `RestartPolicy`.
struct RestartBackoff: Sendable, Equatable {
    let policy: RestartPolicy
    /// Crashes in a row, each not preceded by a healthy run.
    private(set) var consecutiveFailures = 0

    init(policy: RestartPolicy = RestartPolicy()) {
        self.policy = policy
    }

    /// Records an exit and returns how long to wait before the next start.
    mutating func delay(after exit: ExitStatus, runtime: Duration) -> Duration {
        if runtime >= policy.healthyRuntime || exit.isClean {
            consecutiveFailures = 0
        }
        guard !exit.isClean else { return .zero }
        var delay = policy.initialDelay
        for _ in 0..<consecutiveFailures where delay < policy.maximumDelay {
            delay *= 2
        }
        // Capped so the counter cannot grow without bound in a long crash loop.
        consecutiveFailures = min(consecutiveFailures + 1, 64)
        return min(delay, policy.maximumDelay)
    }
}
