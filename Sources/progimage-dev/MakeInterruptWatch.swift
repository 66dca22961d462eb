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
/// puts a fatal signal's disposition back to the default as it starts handling it, so its
/// caught-signal mask (`SigCgt` in /proc) losing the signal is the moment it was sent.
/// make killed outright (SIGKILL) leaves the supervisor to init: that stops the stack too.
struct MakeInterruptWatch {
    private static let forwardedByNobody: [Int32] = [SIGINT, SIGHUP, SIGQUIT]
    private let make: pid_t
    /// Those of `forwardedByNobody` that make caught when the supervisor started.
    private let caught: [Int32]

    /// Nil unless the parent is make and catches SIGINT (make started with SIGINT ignored,
    /// as `nohup` or a background job in a non-interactive shell does, is never sent it).
    init?() {
        let parent = getppid()
        guard parent > 1, ["make", "gmake"].contains(Self.command(of: parent)),
            let mask = Self.caughtSignalMask(of: parent)
        else { return nil }
        let caught = Self.forwardedByNobody.filter { Self.contains(mask, $0) }
        guard caught.contains(SIGINT) else { return nil }
        self.make = parent
        self.caught = caught
    }

    /// What happened to make since the supervisor started, if anything: the log's reason.
    func interruption() -> String? {
        guard getppid() == make, let mask = Self.caughtSignalMask(of: make) else { return "make (pid \(make)) is gone" }
        guard let signal = caught.first(where: { !Self.contains(mask, $0) }) else { return nil }
        return "make (pid \(make)) received \(SignalSet.name(of: signal))"
    }

    private static func contains(_ mask: UInt64, _ signal: Int32) -> Bool {
        mask & (1 << UInt64(signal - 1)) != 0
    }

    private static func command(of pid: pid_t) -> String? {
        guard let bytes = try? Files.read("/proc/\(pid)/comm") else { return nil }
        return String(decoding: bytes, as: UTF8.self).filter { $0 != "\n" }
    }

    /// The `SigCgt` line of /proc/{pid}/status: a hexadecimal mask, bit n-1 for signal n.
    private static func caughtSignalMask(of pid: pid_t) -> UInt64? {
        guard let bytes = try? Files.read("/proc/\(pid)/status") else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("SigCgt:") {
            return UInt64(String(line.dropFirst("SigCgt:".count).filter(\.isHexDigit)), radix: 16)
        }
        return nil
    }
}
