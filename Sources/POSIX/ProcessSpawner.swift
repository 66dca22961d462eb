#if canImport(Glibc)
import Glibc
#endif

/// What a child gets as its standard input.
public enum ChildInput: Sendable, Equatable {
    /// This descriptor becomes fd 0 (a worker's listening socket, per the FastCGI convention).
    case descriptor(Int32)
    /// /dev/null, so nginx never reads the terminal.
    case null
}

/// Everything needed to start one child with `posix_spawn`.
public struct SpawnRequest: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String]
    public var input: ChildInput
    /// When set, the child's stdout and stderr go here instead of ours (to capture `nginx -t`).
    public var output: Int32?

    public init(executable: String, arguments: [String], environment: [String], input: ChildInput, output: Int32? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.input = input
        self.output = output
    }
}

/// Starts children with `posix_spawn` (vfork + exec in glibc: cheap, and a failed exec is
/// reported as an error rather than as a child that exits 127).
///
/// The supervisor blocks TERM/INT/CHLD/HUP and ignores PIPE; a blocked mask and ignored
/// dispositions survive exec, so each child gets an empty mask and default dispositions:
/// otherwise a worker would never see SIGTERM, or nginx SIGCHLD from its own workers.
/// This is the only file that builds C argv/envp arrays.
public enum ProcessSpawner {
    public static let resetSignals: [Int32] = [SIGTERM, SIGINT, SIGCHLD, SIGUSR1, SIGHUP, SIGPIPE]

    public static func spawn(_ request: SpawnRequest) throws(SystemCallError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch request.input {
        case .descriptor(let fd):
            // dup2 clears close-on-exec on the copy, so only fd 0 crosses the exec.
            posix_spawn_file_actions_adddup2(&actions, fd, 0)
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let output = request.output {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in resetSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = CStringArray([request.executable] + request.arguments)
        let envp = CStringArray(request.environment)
        defer {
            argv.free()
            envp.free()
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, request.executable, &actions, &attributes, argv.pointers, envp.pointers)
        guard result == 0 else { throw SystemCallError("posix_spawn", path: request.executable, errno: Errno(rawValue: result)) }
        return pid
    }
}

/// A NULL-terminated array of C strings, as `execve` wants for argv and envp.
private struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}
