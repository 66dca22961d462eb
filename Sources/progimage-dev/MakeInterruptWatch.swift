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
        guard parent > 0, ["make", "gmake"].contains(Self.command(of: parent)),
            let masks = Self.signalMasks(of: parent)
        else { return nil }
        let watched = Self.forwardedByNobody.filter { !Self.contains(masks.ignored, $0) }
        guard watched.contains(SIGINT) else { return nil }
        self.make = parent
        self.watched = watched
    }

    /// What happened to make, if anything: the log's reason for stopping. A /proc read that
    /// fails (make is exiting) says nothing; the next look, or the new parent, will.
    func interruption() -> String? {
        guard getppid() == make else { return "make (pid \(make)) is gone" }
        guard let masks = Self.signalMasks(of: make),
            let signal = watched.first(where: { !Self.contains(masks.caught, $0) && !Self.contains(masks.ignored, $0) })
        else { return nil }
        return "make (pid \(make)) received \(SignalSet.name(of: signal))"
    }

    /// Bit n − 1 for signal n, as /proc prints the masks.
    private static func contains(_ mask: UInt64, _ signal: Int32) -> Bool {
        mask & (1 << UInt64(signal - 1)) != 0
    }

    private static func command(of pid: pid_t) -> String? {
        guard let bytes = try? Files.read("/proc/\(pid)/comm") else { return nil }
        return String(decoding: bytes, as: UTF8.self).filter { $0 != "\n" }
    }

    /// The `SigCgt` and `SigIgn` lines of /proc/{pid}/status, hexadecimal masks.
    private static func signalMasks(of pid: pid_t) -> (caught: UInt64, ignored: UInt64)? {
        guard let bytes = try? Files.read("/proc/\(pid)/status") else { return nil }
        var caught: UInt64?, ignored: UInt64?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let value = { UInt64(String(line.drop(while: { $0 != ":" }).filter(\.isHexDigit)), radix: 16) }
            if line.hasPrefix("SigCgt:") { caught = value() }
            if line.hasPrefix("SigIgn:") { ignored = value() }
        }
        guard let caught, let ignored else { return nil }
        return (caught, ignored)
    }
}
