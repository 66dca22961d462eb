import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Every supervised child starts as this binary, `progimage-dev --as-child-of PID
/// EXECUTABLE ARGUMENTS…`, which arms SIGTERM as its parent-death signal and becomes
/// EXECUTABLE (same pid). `posix_spawn` cannot arm it in the child, and without it a
/// supervisor killed outright (`kill -9`, the OOM killer) left nginx and every worker
/// running, unsupervised and holding the port, so the next `make run` refused to start.
enum ChildTrampoline {
    static let flag = "--as-child-of"

    /// The request that starts `request`'s program through this binary.
    static func wrapping(_ request: SpawnRequest, ownExecutable: String) -> SpawnRequest {
        var wrapped = request
        wrapped.executable = ownExecutable
        wrapped.arguments = [flag, String(getpid()), request.executable] + request.arguments
        return wrapped
    }

    /// Becomes the program named after `--as-child-of PID` when started so; returns at once
    /// otherwise. Runs before anything else in `main`: the process is fresh and has one
    /// thread.
    static func execIfAsked(_ arguments: [String] = CommandLine.arguments) {
        guard arguments.count >= 4, arguments[1] == flag, let parent = pid_t(arguments[2]) else { return }
        guard ParentDeathSignal.arm(SIGTERM, parent: parent) else { _exit(0) }
        let program = Array(arguments[3...])
        var argv = program.map { strdup($0) } + [nil]
        execv(program[0], &argv)
        StandardStreams.error("cannot start \(program[0]): \(String(cString: strerror(errno)))")
        _exit(127)
    }
}
