#if canImport(Glibc)
import Glibc
#endif

/// Everything that stops the development stack from starting. Each case carries enough
/// to act on without reading code: the path, the failing call and `errno`'s text.
enum SupervisorError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    case systemCall(String, path: String, errno: Int32)
    case socketPathTooLong(String, limit: Int)
    case executableNotFound(String, hint: String)
    case fileNotFound(String, hint: String)
    case spawnFailed(String, errno: Int32)
    case nginxConfigRejected(output: String)
    case portInUse(Int)
    case exitedDuringStartup(String, ExitStatus)

    var description: String {
        switch self {
        case .usage(let message):
            return message
        case .systemCall(let call, let path, let code):
            return "\(call)(\(path)) failed: \(Self.text(code))"
        case .socketPathTooLong(let path, let limit):
            return "socket path \(path) is longer than \(limit) bytes; set PROGIMAGE_RUN_DIR to a shorter directory"
        case .executableNotFound(let name, let hint):
            return "cannot find an executable \(name): \(hint)"
        case .fileNotFound(let name, let hint):
            return "cannot find \(name): \(hint)"
        case .spawnFailed(let path, let code):
            return "cannot start \(path): \(Self.text(code))"
        case .nginxConfigRejected(let output):
            return "nginx -t rejected the generated configuration:\n\(output)"
        case .portInUse(let port):
            return "something already listens on 127.0.0.1:\(port); stop it or set PROGIMAGE_PORT"
        case .exitedDuringStartup(let name, let status):
            return "\(name) stopped during start-up (\(status))"
        }
    }

    static func text(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }
}
