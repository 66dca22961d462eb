import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Notices that `make`, the supervisor's parent under `make run`, was interrupted on its own.
///
/// A terminal's Ctrl-C reaches the whole foreground process group, the supervisor included.
/// A program that starts `make run` and sends SIGINT to make's pid alone reaches make only:
/// GNU make passes SIGTERM on to its children but not SIGINT, SIGHUP or SIGQUIT, and then
/// waits for them, so the stack ran on and make waited forever (found 2026-12-07). make
/// catches those signals from its start and puts a signal's disposition back to the
/// default as it starts handling it, so one no longer caught (`SigCgt` in
/// /proc/{pid}/status) nor ignored (`SigIgn`) is one make was sent, before the supervisor
/// started or since. make killed outright (SIGKILL) leaves the supervisor to another
/// parent: that stops the stack too.
struct MakeInterruptWatch {
    private static let forwardedByNobody: [Int32] = [SIGINT, SIGHUP, SIGQUIT]
    private let make: pid_t
    /// Those of `forwardedByNobody` that make does not ignore: make started with SIGINT
    /// ignored (`nohup`, a background job of a non-interactive shell) is never stopped by it.
    private let watched: [Int32]

    /// Nil unless the parent is make and does not ignore SIGINT.
    init?() {
        let parent = getppid()
        guard parent > 0, ["make", "gmake"].contains(ProcessTable.command(of: parent)),
            let dispositions = ProcessTable.signalDispositions(of: parent)
        else { return nil }
        let watched = Self.forwardedByNobody.filter { !dispositions.ignores($0) }
        guard watched.contains(SIGINT) else { return nil }
        self.make = parent
        self.watched = watched
    }

    /// What happened to make, if anything: the log's reason for stopping. A /proc read that
    /// fails (make is exiting) says nothing; the next look, or the new parent, will.
    func interruption() -> String? {
        guard getppid() == make else { return "make (pid \(make)) is gone" }
        guard let dispositions = ProcessTable.signalDispositions(of: make),
            let signal = watched.first(where: { !dispositions.catches($0) && !dispositions.ignores($0) })
        else { return nil }
        return "make (pid \(make)) received \(SignalSet.name(of: signal))"
    }
}
