#if canImport(Glibc)
import Glibc
#endif

/// A set of signals the supervisor handles synchronously.
///
/// The supervisor blocks them and takes them one at a time with `sigtimedwait`, so there is
/// no signal handler, no async-signal-safety to worry about, and SIGCHLD cannot race with
/// the restart bookkeeping: everything happens on the one thread, in order.
struct SignalSet: @unchecked Sendable {
    // @unchecked: sigset_t is a plain C bit array, copied by value.
    private var set = sigset_t()

    init(_ signals: [Int32]) {
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
    }

    /// Blocks the signals for the calling thread (the only one) so they queue for `wait`.
    func block() {
        var copy = set
        pthread_sigmask(SIG_BLOCK, &copy, nil)
    }

    /// The next pending signal of the set, or nil once `timeout` passes.
    func wait(timeout: Duration) -> Int32? {
        var copy = set
        let (seconds, attoseconds) = max(timeout, .zero).components
        var interval = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        let signal = sigtimedwait(&copy, nil, &interval)
        return signal > 0 ? signal : nil
    }

    /// Whether `signal` is waiting to be taken; lets the loop see a stop request before it
    /// spends time restarting a child that is about to be stopped anyway.
    static func isPending(_ signal: Int32) -> Bool {
        var pending = sigset_t()
        sigemptyset(&pending)
        sigpending(&pending)
        return sigismember(&pending, signal) == 1
    }

    /// Ignores SIGPIPE in the supervisor: a closed stderr pipe must not kill the process
    /// that owns every child.
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        default: "signal \(signal)"
        }
    }
}
