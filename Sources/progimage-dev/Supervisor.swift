import POSIX
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Keeps every child running until a stop signal, then stops them all.
///
/// Single-threaded by design: the stop signals and SIGCHLD are blocked and taken one at a
/// time with `sigtimedwait`, so starting, reaping and restarting never race each other.
final class Supervisor {
    /// Signals the supervisor takes synchronously. SIGHUP counts as a stop: the terminal
    /// running `make run` went away.
    static let handledSignals = SignalSet([SIGTERM, SIGINT, SIGHUP, SIGCHLD])
    private static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    /// A worker that will stay down this long is crash-looping. Its socket is then closed
    /// so nginx answers 502 at once rather than holding requests for its full timeout:
    /// the same thing systemd does when a socket-activated service hits its start limit.
    /// A single crash (100 ms) or a recycle (0 ms) keeps the socket and its queue.
    static let refuseWhenDownFor: Duration = .seconds(1)

    private var children: [ChildProcess]
    private let logger: Logger
    /// True once the stack answers; before that an essential child's exit is fatal.
    private var isReady = false
    private let readinessProbe: () -> Bool
    private let onReady: () -> Void
    private let readinessTimeout: Duration = .seconds(15)
    private let startedAt = ContinuousClock.now
    /// Called about once a second once the stack answers, with a way to signal nginx.
    private let housekeeping: ((_ signalNginx: (Int32) -> Void) -> Void)?
    /// This binary, through which every child starts (`ChildTrampoline`).
    private let ownExecutable = (try? RunningExecutable.path()) ?? CommandLine.arguments[0]
    /// Under `make run`: a SIGINT sent to make alone stops the stack too.
    private let makeWatch: MakeInterruptWatch?
    /// How soon the loop looks at make again.
    private static let makeWatchInterval: Duration = .milliseconds(200)

    init(
        children: [ChildProcess], logger: Logger, readinessProbe: @escaping () -> Bool, onReady: @escaping () -> Void,
        housekeeping: ((_ signalNginx: (Int32) -> Void) -> Void)? = nil, makeWatch: MakeInterruptWatch?
    ) {
        self.makeWatch = makeWatch
        self.children = children
        // What a dying child leaves running comes back to us (`stopOrphans`).
        if !ChildSubreaper.become() { logger.warning("cannot become a child subreaper: orphans of a dead child would outlive the stack") }
        self.logger = logger
        self.readinessProbe = readinessProbe
        self.onReady = onReady
        self.housekeeping = housekeeping
    }

    /// Starts every child in order. A child that cannot be spawned at all (a missing or
    /// unreadable binary) fails start-up: retrying would not help.
    func startAll() throws(SupervisorError) {
        for index in children.indices {
            try start(index)
        }
    }

    /// Runs until SIGTERM, SIGINT or SIGHUP (or make, its parent, is interrupted) and
    /// returns the signal; throws if an essential child exits before the stack is ready.
    func superviseUntilStopped() throws(SupervisorError) -> Int32 {
        while true {
            restartDueChildren()
            if !isReady { checkReadiness() }
            if isReady, let housekeeping {
                // nginx is the child that stops first.
                housekeeping { signal in
                    for child in children where child.stopsFirst { if let pid = child.pid { kill(pid, signal) } }
                }
            }
            let signal = Self.handledSignals.wait(timeout: nextWakeUp())
            if let signal, Self.stopSignals.contains(signal) {
                logger.info("received \(SignalSet.name(of: signal)): stopping every child")
                return signal
            }
            if let interruption = makeWatch?.interruption() {
                logger.info("\(interruption): stopping every child")
                return SIGTERM
            }
            // On SIGCHLD, and on every timeout too: SIGCHLDs coalesce, reaping is cheap.
            try reapExited(restarting: true)
        }
    }

    /// Stops every child within `grace` and returns only when all have been reaped:
    /// nothing is left behind.
    ///
    /// In two stages, so a request in flight still gets its answer: first nginx, gracefully
    /// (SIGQUIT: it stops accepting and finishes what it has, while the workers behind it
    /// still serve), for at most `frontDoorGrace`; then SIGTERM to the workers (they finish
    /// in-flight requests). SIGKILL for anything left at the end, or at once on a second
    /// SIGINT (Ctrl-C twice). When the whole process group was signalled, as `make run`'s
    /// Ctrl-C or the tests do, the children already got the signal themselves; this path
    /// then only collects them.
    func stopAll(grace: Duration = .seconds(10), frontDoorGrace: Duration = .seconds(6)) {
        let deadline = ContinuousClock.now + grace
        for index in children.indices { children[index].restartAt = nil }
        let front = children.indices.filter { children[$0].stopsFirst }
        let back = children.indices.filter { !children[$0].stopsFirst }
        signal(front, with: nil)
        if waitForExit(of: front, until: min(ContinuousClock.now + frontDoorGrace, deadline)) {
            // A front door that overran its share is stopped fast (SIGTERM) with the rest.
            signal(front, with: SIGTERM)
            signal(back, with: nil)
            _ = waitForExit(of: Array(children.indices), until: deadline)
        }
        for index in children.indices {
            guard let pid = children[index].pid else { continue }
            logger.warning("\(children[index].name): pid \(pid) still running; sending SIGKILL")
            kill(pid, SIGKILL)
            record(exit: ExitStatus(waitStatus: ChildExit.wait(for: pid)), of: index, restarting: false)
        }
        for pid in stopOrphans() { _ = ChildExit.wait(for: pid) }
    }

    /// Kills the processes re-parented to us that are none of our children: what a child
    /// that died left behind. nginx's workers outlive a master killed with SIGKILL, go on
    /// answering 502 on the port, and made every restart of nginx fail to bind it, and
    /// `run` exit with them still listening (a black-box tester). Returns their pids, for
    /// the caller to reap. (A process this one inherited across `exec`, as from
    /// `sh -c 'job & exec progimage-dev run'`, would count as one: nothing here does that.)
    private func stopOrphans() -> [Int32] {
        let known = Set(children.compactMap(\.pid))
        let orphans = ProcessTable.children(of: getpid()).filter { !known.contains($0) }
        for pid in orphans {
            logger.warning("pid \(pid), left by a child that died, still running; sending SIGKILL")
            kill(pid, SIGKILL)
        }
        return orphans
    }

    /// Sends each running child among `indices` `signal`, or its own stop signal if nil.
    private func signal(_ indices: [Int], with signal: Int32?) {
        for index in indices {
            if let pid = children[index].pid { kill(pid, signal ?? children[index].stopSignal) }
        }
    }

    /// Reaps until the given children have exited or `deadline` passes. False on a second
    /// SIGINT: the person at the terminal wants it over now.
    private func waitForExit(of indices: [Int], until deadline: ContinuousClock.Instant) -> Bool {
        while indices.contains(where: { children[$0].isRunning }), ContinuousClock.now < deadline {
            let signal = Self.handledSignals.wait(timeout: min(ContinuousClock.now.duration(to: deadline), .milliseconds(250)))
            if signal == SIGINT {
                logger.warning("second SIGINT: killing the children that are still running")
                return false
            }
            try? reapExited(restarting: false)
        }
        return true
    }

    // MARK: - Internals

    private func start(_ index: Int) throws(SupervisorError) {
        let reopening = children[index].socketPath != nil && children[index].listener == nil
        let request = ChildTrampoline.wrapping(try children[index].nextRequest(), ownExecutable: ownExecutable)
        if reopening { logger.info("\(children[index].name): accepting connections again") }
        let pid = try systemCall { () throws(SystemCallError) in try ProcessSpawner.spawn(request) }
        children[index].pid = pid
        children[index].startedAt = .now
        children[index].restartAt = nil
        logger.info("\(children[index].name): started pid \(pid)")
    }

    /// Closes the supervisor's copies of the listening sockets (and removes the files);
    /// call after `stopAll`.
    func closeListeners() {
        for index in children.indices { children[index].refuseConnections() }
    }

    /// Restarts children whose back-off has passed, unless a stop signal is already waiting.
    private func restartDueChildren() {
        let now = ContinuousClock.now
        for index in children.indices {
            guard let due = children[index].restartAt, due <= now else { continue }
            if Self.stopSignals.contains(where: SignalSet.isPending) { return }
            do {
                try start(index)
            } catch {
                // e.g. the binary is being rebuilt right now: treat it like a crash and back off.
                let when = scheduleRestart(index, after: .exited(127), runtime: .zero)
                logger.error("\(children[index].name): \(error); \(when)")
            }
        }
    }

    /// Reaps every child that has exited; schedules restarts unless we are stopping.
    private func reapExited(restarting: Bool) throws(SupervisorError) {
        // A child's own children are re-parented to us before its exit can be reaped: once
        // it is, they are orphans, stopped before the child starts again.
        var reapedChild = false
        // Waited for: the next nginx must find the port free.
        defer { if restarting && reapedChild { for pid in stopOrphans() { _ = ChildExit.wait(for: pid) } } }
        while let (pid, status) = ChildExit.reap() {
            guard let index = children.firstIndex(where: { $0.pid == pid }) else { continue }
            reapedChild = true
            let exit = ExitStatus(waitStatus: status)
            if restarting && !isReady && children[index].essential {
                children[index].pid = nil
                logger.error("\(children[index].name): pid \(pid) \(exit) during start-up")
                throw .exitedDuringStartup(children[index].name, exit)
            }
            record(exit: exit, of: index, restarting: restarting)
        }
    }

    private func record(exit: ExitStatus, of index: Int, restarting: Bool) {
        guard let pid = children[index].pid else { return }
        let runtime = children[index].startedAt.duration(to: .now)
        children[index].pid = nil
        let name = children[index].name
        guard restarting else {
            logger.info("\(name): pid \(pid) \(exit) after \(runtime.secondsDescription)")
            return
        }
        let when = scheduleRestart(index, after: exit, runtime: runtime)
        if exit.isClean {
            logger.info("\(name): pid \(pid) \(exit) after \(runtime.secondsDescription); \(when)")
        } else {
            logger.warning("\(name): pid \(pid) \(exit) after \(runtime.secondsDescription); \(when)")
        }
    }

    /// Sets the child's restart time from its back-off and, if it will stay down a while,
    /// closes its socket. Returns the plan, for the log line.
    private func scheduleRestart(_ index: Int, after exit: ExitStatus, runtime: Duration) -> String {
        let delay = children[index].backoff.delay(after: exit, runtime: runtime)
        children[index].restartAt = .now + delay
        var when = delay == .zero ? "restarting now" : "restarting in \(delay.millisecondsDescription)"
        if delay >= Self.refuseWhenDownFor, children[index].listener != nil {
            children[index].refuseConnections()
            when += "; refusing connections meanwhile"
        }
        return when
    }

    private func checkReadiness() {
        if readinessProbe() {
            isReady = true
            onReady()
        } else if startedAt.duration(to: .now) > readinessTimeout, !warnedNotReady {
            warnedNotReady = true
            logger.warning("still not accepting connections after \(readinessTimeout.secondsDescription)")
        }
    }

    private var warnedNotReady = false

    /// Sleep until the next restart is due; poll briskly while waiting to become ready.
    private func nextWakeUp() -> Duration {
        let now = ContinuousClock.now
        var timeout: Duration = isReady ? (housekeeping == nil ? .seconds(60) : .seconds(1)) : .milliseconds(50)
        if makeWatch != nil { timeout = min(timeout, Self.makeWatchInterval) }
        for child in children {
            if let due = child.restartAt { timeout = min(timeout, now.duration(to: due)) }
        }
        return max(timeout, .zero)
    }
}
