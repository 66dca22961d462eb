import Logging
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-dev [run]` starts the development stack in the foreground;
/// `progimage-dev nginx-config` prints an nginx configuration (production by default).
enum SupervisorCommand {
    static let usage = """
        usage: progimage-dev [run]
               progimage-dev run-front
               progimage-dev nginx-config [--production]
               progimage-dev nginx-config --front
               progimage-dev nginx-config --development --run-dir DIR
        """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let environment = ProcessEnvironment.current()
        let status: Int32
        switch arguments.first {
        case nil, "run":
            guard arguments.count <= 1 else { status = usageError("run takes no arguments"); break }
            status = DevelopmentStack.run(environment: environment)
        case "run-front":
            guard arguments.count == 1 else { status = usageError("run-front takes no arguments"); break }
            status = FrontDoor.run(environment: environment)
        case "nginx-config":
            status = printNginxConfig(Array(arguments.dropFirst()), environment: environment)
        case "-h", "--help", "help":
            StandardStreams.writeLine(usage)
            status = 0
        case let other?:
            status = usageError("unknown command \(other)")
        }
        exit(status)
    }

    /// Prints the production site file, or the development nginx.conf for a run directory.
    /// `make install` and a sync test use it, so the committed file cannot drift from code.
    static func printNginxConfig(_ arguments: [String], environment: ProcessEnvironment) -> Int32 {
        var development = false
        var front = false
        var runDirectory: String?
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--production": development = false
            case "--development": development = true
            case "--front": front = true
            case "--run-dir":
                guard let value = remaining.popFirst() else { return usageError("--run-dir needs a directory") }
                runDirectory = value
            default: return usageError("unknown option \(argument)")
            }
        }
        guard let config = environment.serviceConfiguration() else { return 2 }
        if front {
            guard !config.frontUpstreams.isEmpty else { return usageError("--front needs PROGIMAGE_FRONT_UPSTREAMS") }
            printFile(NginxConfiguration.frontSite(config))
        } else if development {
            guard let directory = runDirectory ?? config.runDirectory else {
                return usageError("--development needs --run-dir DIR (or PROGIMAGE_RUN_DIR)")
            }
            let text = NginxConfiguration.development(config, runDirectory: directory, workerUser: DevelopmentStack.nginxWorkerUser)
            printFile(text)
        } else {
            printFile(NginxConfiguration.productionSite(config))
        }
        return 0
    }

    /// Byte-exact output ending in exactly one newline, so `> file` matches the committed copy.
    private static func printFile(_ text: String) {
        StandardStreams.write(text.hasSuffix("\n") ? text : text + "\n")
    }

    private static func usageError(_ message: String) -> Int32 {
        StandardStreams.error(message)
        StandardStreams.writeLine(usage, to: 2)
        return 2
    }
}
