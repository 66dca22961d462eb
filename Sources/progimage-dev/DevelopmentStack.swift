import ProgimageDeployment
import POSIX
import Logging
import ProgimageAPI
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-dev run`: nginx plus one FastCGI worker per role, in the foreground, until
/// SIGTERM or SIGINT; then everything is stopped and the temporary files are removed.
enum DevelopmentStack {
    /// nginx started as root runs its workers as `nobody` unless told otherwise, and
    /// `nobody` cannot read a mode-700 `mktemp -d` directory: name root explicitly.
    /// As any other user nginx cannot switch users and the directive is left out.
    static var nginxWorkerUser: String? { geteuid() == 0 ? "root" : nil }

    /// Creates a directory a variable names: one that cannot be made (a file in the way, a
    /// read-only mount) is that variable's bad value, exit 2, where it had been a bare
    /// `mkdir(…) failed` and exit 1 (a black-box tester).
    static func makeDirectory(_ directory: String, variable: String) throws(SupervisorError) {
        do {
            try Files.makeDirectories(directory)
        } catch {
            throw .notWritable(directory, variable: variable, reason: error.errno)
        }
    }

    /// The process's exit status: 0 after a requested stop, 1 if start-up failed,
    /// 2 for a configuration error.
    static func run(environment: ProcessEnvironment) -> Int32 {
        let logger = prepareForeground(label: "progimage-dev")

        guard let config = environment.serviceConfiguration() else { return 2 }

        var resources = StackResources()
        defer { resources.release() }
        do throws(SupervisorError) {
            try Self.makeDirectory(config.dataDirectory, variable: "PROGIMAGE_DATA_DIR")
            try Self.makeDirectory(config.cacheDirectory, variable: "PROGIMAGE_CACHE_DIR")
            // A directory that exists but cannot be written (a read-only mount) stops the
            // start: every instance exited at once and was restarted for ever behind a stack
            // that said it was serving, or every derived image was a 500 (a black-box tester).
            for (variable, directory) in [("PROGIMAGE_DATA_DIR", config.dataDirectory), ("PROGIMAGE_CACHE_DIR", config.cacheDirectory)]
            where access(directory, W_OK) != 0 {
                throw .notWritable(directory, variable: variable, reason: Errno.current)
            }
            // nginx opens its cache log there before any instance has run.
            if config.metricsPort != nil { try systemCall { () throws(SystemCallError) in try Files.makeDirectories(config.metricsDirectory) } }
            let workerBinary = try ExecutableLocator.worker(environment: environment)
            let nginxBinary = try ExecutableLocator.nginx(environment: environment)
            guard !LoopbackProbe.isAccepting(port: config.port) else { throw .portInUse(config.port, variable: "PROGIMAGE_PORT") }
            // nginx would fail to bind it and be restarted for ever, the stack never answering.
            if let metrics = config.metricsPort, LoopbackProbe.isAccepting(port: metrics) {
                throw .portInUse(metrics, variable: "PROGIMAGE_METRICS_PORT")
            }

            StartupCheck.run(worker: workerBinary, environment: environment)
            let runDirectory = try resources.openRunDirectory(config.runDirectory)
            var children: [ChildProcess] = []
            for role in TransformRole.all {
                let socket = try resources.listen(at: NginxConfiguration.socketPath(for: role, in: runDirectory))
                let request = SpawnRequest(
                    executable: workerBinary, arguments: [],
                    environment: environment.with(["TRANSFORM_TYPE": role.rawValue]), input: .null)
                children.append(.worker(role: role.rawValue, request: request, listener: socket))
            }

            let nginx = NginxLauncher(executable: nginxBinary, runDirectory: runDirectory, environment: environment.with([:]))
            let nginxConfig = NginxConfiguration.development(config, runDirectory: runDirectory, workerUser: nginxWorkerUser)
            try systemCall { () throws(SystemCallError) in try Files.write(Array(nginxConfig.utf8), to: nginx.configPath) }
            try nginx.installIncludes()
            try nginx.testConfiguration()
            children.append(.nginx(request: nginx.request))

            let port = config.port
            var banner = "progimage: serving on http://127.0.0.1:\(port) (data \(config.dataDirectory), cache \(config.cacheDirectory))"
            if config.apiKeys.isEmpty && config.openWritesWithoutKey {
                banner += "\nprogimage: writes (POST, DELETE) are open to everyone: no PROGIMAGE_API_KEY is set"
            }
            // The cache may be wiped while the stack runs (derived files are disposable), its
            // metrics folder with it: nginx would go on logging to the deleted file, and the
            // hit and miss counts stop for good. Once a second: the folder back, and nginx
            // told to reopen its logs (SIGUSR1), which creates the file again.
            let metricsLog = config.metricsPort.map { _ in config.cacheLogPath }
            // At most every 10 s: an nginx that cannot make the file is not asked every second.
            var lastReopen: ContinuousClock.Instant? = nil
            let housekeeping: ((_ signalNginx: (Int32) -> Void) -> Void)? = metricsLog.map { path in
                { signalNginx in
                    guard access(path, F_OK) != 0, errno == ENOENT else { return }
                    let now = ContinuousClock.now
                    if let lastReopen, now - lastReopen < .seconds(10) { return }
                    guard (try? Files.makeDirectories(config.metricsDirectory)) != nil else { return }
                    lastReopen = now
                    signalNginx(SIGUSR1)
                }
            }
            let supervisor = Supervisor(
                children: children, logger: logger,
                readinessProbe: { LoopbackProbe.isAccepting(port: port) },
                onReady: { StandardStreams.writeLine(banner) }, housekeeping: housekeeping,
                makeWatch: MakeInterruptWatch())
            resources.supervisor = supervisor
            try supervisor.startAll()
            _ = try supervisor.superviseUntilStopped()
            return 0
        } catch {
            StandardStreams.error(error.description)
            if case .notWritable = error { return 2 }  // a bad value of a variable
            if case .exitedDuringStartup = error, let directory = resources.runDirectory {
                let log = Files.tail(of: directory + "/error.log", limit: 2048)
                if !log.isEmpty { StandardStreams.write("nginx error log (\(directory)/error.log) ends with:\n" + log, to: 2) }
            }
            return 1
        }
    }
}

/// Signals, streams and logging for a foreground supervisor (`run`, `run-front`).
/// Signals are blocked first: a Ctrl-C during start-up then waits for the loop instead of
/// killing us halfway, with children started and nobody left to stop them.
func prepareForeground(label: String) -> Logger {
    Supervisor.handledSignals.block()
    SignalSet.ignoreBrokenPipe()
    StandardStreams.ensureOpen()
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    return Logger(label: label)
}

/// What `run` acquired, released in reverse on every path out: children first (they use
/// the sockets), then the sockets, then the run directory if we created it. Once the
/// supervisor exists it owns the open sockets (it may re-create one). A socket that failed
/// to bind has already removed its file.
struct StackResources {
    var supervisor: Supervisor?
    private(set) var runDirectory: String?
    private var ownsRunDirectory = false
    /// The descriptor of PROGIMAGE_RUN_DIR's lock file, held for the stack's life.
    private var runDirectoryLock: Int32?
    private var sockets: [ListeningSocket] = []

    /// PROGIMAGE_RUN_DIR if set (created if missing, kept afterwards), else a fresh
    /// directory under /tmp: short, because a unix socket path is limited to 108 bytes.
    /// A set one is locked (`run.lock`) for as long as this stack runs: a second stack
    /// started with it had bound the first one's sockets again and taken its traffic, the
    /// first one's port answering for the second one's data, and 502 for ever once the
    /// second one stopped (a black-box tester).
    mutating func openRunDirectory(_ configured: String?) throws(SupervisorError) -> String {
        let directory: String
        if let configured {
            try DevelopmentStack.makeDirectory(configured, variable: "PROGIMAGE_RUN_DIR")
            let lock = try systemCall { () throws(SystemCallError) in try FileLock.exclusiveWithoutWaiting(configured + "/run.lock") }
            guard let lock else { throw .runDirectoryInUse(configured) }
            runDirectoryLock = lock
            directory = configured
        } else {
            directory = try systemCall { () throws(SystemCallError) in try Files.makeTemporaryDirectory(template: "/tmp/progimage-XXXXXX") }
            ownsRunDirectory = true
        }
        runDirectory = directory
        return directory
    }

    mutating func listen(at path: String) throws(SupervisorError) -> ListeningSocket {
        let socket = try systemCall { () throws(SystemCallError) in try ListeningSocket.bind(path: path) }
        sockets.append(socket)
        return socket
    }

    mutating func release() {
        if let supervisor {
            supervisor.stopAll()
            supervisor.closeListeners()
        } else {
            for socket in sockets { socket.close() }
        }
        supervisor = nil
        sockets = []
        if ownsRunDirectory, let runDirectory { Files.removeTree(runDirectory) }
        if let runDirectoryLock { close(runDirectoryLock) }
        runDirectoryLock = nil
    }
}
