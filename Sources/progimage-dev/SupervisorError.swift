import POSIX

/// Everything that stops the development stack from starting. Each case carries enough
/// to act on without reading code: the path, the failing call and `errno`'s text.
enum SupervisorError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    case systemCall(SystemCallError)
    case socketPathTooLong(String, limit: Int)
    case executableNotFound(String, hint: String)
    case fileNotFound(String, hint: String)
    case spawnFailed(String, errno: Errno)
    case nginxConfigRejected(output: String)
    /// The port, and the variable that chose it.
    case portInUse(Int, variable: String)
    /// PROGIMAGE_RUN_DIR, which another stack's supervisor holds.
    case runDirectoryInUse(String)
    case exitedDuringStartup(String, ExitStatus)
    /// A directory the stack writes to, the variable that named it, and why it cannot.
    case notWritable(String, variable: String, reason: Errno)

    var description: String {
        switch self {
        case .usage(let message):
            return message
        case .systemCall(let failure):
            return failure.description
        case .socketPathTooLong(let path, let limit):
            return "socket path \(path) is longer than \(limit) bytes; set PROGIMAGE_RUN_DIR to a shorter directory"
        case .executableNotFound(let name, let hint):
            return "cannot find an executable \(name): \(hint)"
        case .fileNotFound(let name, let hint):
            return "cannot find \(name): \(hint)"
        case .spawnFailed(let path, let code):
            return "cannot start \(path): \(code)"
        case .nginxConfigRejected(let output):
            return "nginx -t rejected the generated configuration:\n\(output)"
        case .portInUse(let port, let variable):
            return "something already listens on 127.0.0.1:\(port); stop it or set \(variable)"
        case .runDirectoryInUse(let path):
            return "another stack runs from \(path); stop it or set PROGIMAGE_RUN_DIR to another directory"
        case .exitedDuringStartup(let name, let status):
            return "\(name) stopped during start-up (\(status))"
        case .notWritable(let path, let variable, let reason):
            return "\(variable): cannot write to \(path) (\(reason))"
        }
    }

}

extension SupervisorError {
    /// A failed system call, said the way a developer acts on it.
    init(_ failure: SystemCallError) {
        switch failure.call {
        case "posix_spawn": self = .spawnFailed(failure.path, errno: failure.errno)
        case "bind" where failure.path.utf8.count > ListeningSocket.maximumPathLength:
            self = .socketPathTooLong(failure.path, limit: ListeningSocket.maximumPathLength)
        default: self = .systemCall(failure)
        }
    }
}

/// Runs `body`, turning its system call failure into the supervisor's error.
func systemCall<T>(_ body: () throws(SystemCallError) -> T) throws(SupervisorError) -> T {
    do {
        return try body()
    } catch {
        throw SupervisorError(error)
    }
}
