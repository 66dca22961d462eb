/// How a child ended, decoded from a `waitpid` status word (Glibc's `WIFEXITED` and
/// friends are macros that Swift does not import).
enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        if signal == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .signaled(signal)
        }
    }

    /// Status 0: the child chose to stop (a worker recycling itself, or nginx told to quit).
    var isClean: Bool { self == .exited(0) }

    var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(SignalSet.name(of: signal)))"
        }
    }
}
