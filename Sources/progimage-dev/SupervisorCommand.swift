import ArgumentParser
import POSIX
import ProgimageDeployment

#if canImport(Glibc)
import Glibc
#endif

/// `progimage-dev [run]` starts the development stack in the foreground;
/// `progimage-dev nginx-config` prints an nginx configuration (production by default).
struct SupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progimage-dev",
        abstract: "The development stack: nginx and one worker per role, supervised in the foreground.",
        subcommands: [Run.self, RunFront.self, NginxConfig.self], defaultSubcommand: Run.self)

    /// Parses, runs, exits: 0 after help, 2 on a usage error (as on a configuration error).
    static func start() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch {
            if exitCode(for: error) == .success {
                StandardStreams.writeLine(fullMessage(for: error))
                Glibc.exit(0)
            }
            StandardStreams.error(fullMessage(for: error))
            Glibc.exit(2)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the stack (the default).")

        func run() throws {
            Glibc.exit(DevelopmentStack.run(environment: ProcessEnvironment.current()))
        }
    }

    struct RunFront: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a front nginx over the boxes in PROGIMAGE_FRONT_UPSTREAMS.")

        func run() throws {
            Glibc.exit(FrontDoor.run(environment: ProcessEnvironment.current()))
        }
    }

    /// Prints the production site file, the front door's, or the development nginx.conf for
    /// a run directory. `make install` and a sync test use it, so the committed files
    /// cannot drift from the code.
    struct NginxConfig: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an nginx configuration.")

        enum Site: String, EnumerableFlag {
            case production, development, front
        }

        /// As before swift-argument-parser: the last of these flags wins.
        @Flag(exclusivity: .chooseLast, help: "Which configuration (default: the production site).")
        var site: Site = .production

        @Option(name: .customLong("run-dir"), help: "The run directory of a development configuration.")
        var runDirectory: String?

        /// `make install` passes the installed env file: every setting the site depends on
        /// then comes from where the workers read theirs (a list of variables copied out of
        /// it by the Makefile had missed `PROGIMAGE_PRESETS_ONLY`: a docs review).
        @Option(
            name: .customLong("environment-file"),
            help: "Read the PROGIMAGE_* settings from this file, as systemd's EnvironmentFile= reads it, not from the environment.")
        var environmentFile: String?

        /// Checked here rather than in `run`, so a usage error shows this command's usage.
        func validate() throws {
            guard let config = try settings().serviceConfiguration() else { Glibc.exit(2) }
            if site == .front && config.frontUpstreams.isEmpty {
                throw ValidationError("--front needs PROGIMAGE_FRONT_UPSTREAMS")
            }
            if site == .development && runDirectory == nil && config.runDirectory == nil {
                throw ValidationError("--development needs --run-dir DIR (or PROGIMAGE_RUN_DIR)")
            }
        }

        func run() throws {
            guard let config = try settings().serviceConfiguration() else { Glibc.exit(2) }
            switch site {
            case .front:
                printFile(NginxConfiguration.frontSite(config))
            case .development:
                guard let directory = runDirectory ?? config.runDirectory else { Glibc.exit(2) }
                printFile(
                    NginxConfiguration.development(config, runDirectory: directory, workerUser: DevelopmentStack.nginxWorkerUser))
            case .production:
                printFile(NginxConfiguration.productionSite(config))
            }
        }

        private func settings() throws -> ProcessEnvironment {
            guard let path = environmentFile else { return .current() }
            let bytes: [UInt8]
            do {
                bytes = try Files.read(path)
            } catch {
                throw ValidationError("--environment-file: \(error)")
            }
            return ProcessEnvironment(entries: EnvironmentFile.parse(String(decoding: bytes, as: UTF8.self)).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        }

        /// Byte-exact output ending in exactly one newline, so `> file` matches the committed copy.
        private func printFile(_ text: String) {
            StandardStreams.write(text.hasSuffix("\n") ? text : text + "\n")
        }
    }
}
