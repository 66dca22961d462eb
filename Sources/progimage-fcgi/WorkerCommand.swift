import ArgumentParser
import ProgimageServer

#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi`: serves one role (`TRANSFORM_TYPE`) by default; `prune`, `check`,
/// `replay-deletes` and `migrate` are the passes the timers, the boot and operators run
/// with the same `PROGIMAGE_*` environment.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progimage-fcgi",
        abstract: "The progimage FastCGI worker and its maintenance commands.",
        subcommands: [Serve.self, Prune.self, Check.self, ReplayDeletes.self, Migrate.self], defaultSubcommand: Serve.self)

    /// Parses, runs: 0 after help, 2 on a usage error (which systemd does not retry).
    static func start() -> Never {
        WorkerMain.prepareProcess()
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let line = "progimage-fcgi: \(fullMessage(for: error))\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            Glibc.exit(2)
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve TRANSFORM_TYPE's requests on the socket from fd 0, LISTEN_FDS or PROGIMAGE_SOCKET.")

        func run() throws { WorkerMain.serve(environment: WorkerMain.environment) }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep PROGIMAGE_CACHE_DIR (and, with an object store, the local copies) under budget.")

        @Option(help: "The cache budget in bytes (default PROGIMAGE_CACHE_MAX_BYTES).")
        var maxBytes: String?

        func validate() throws {
            if let maxBytes, PruneCommand.byteCount(maxBytes) == nil {
                throw ValidationError("--max-bytes \(maxBytes): expected a number of bytes")
            }
        }

        func run() throws {
            PruneCommand.run(maxBytes: maxBytes.flatMap(PruneCommand.byteCount), environment: WorkerMain.environment)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare records, originals and the cache; report (or --repair) what disagrees.")

        @Flag(help: "Repair what can be repaired.")
        var repair = false

        @Option(help: "Seconds a cache folder, an object or (distributed) a local copy may be younger than and not count.")
        var grace = 600

        @Flag(
            help: """
                As a box starts, before its files are served (`make run` passes it): replay-deletes \
                first, then the report.
                """)
        var atStart = false

        func validate() throws {
            if grace < 0 { throw ValidationError("--grace \(grace): expected seconds") }
        }

        func run() throws {
            CheckCommand.run(repair: repair, grace: grace, atStart: atStart, environment: WorkerMain.environment)
        }
    }

    struct ReplayDeletes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay-deletes",
            abstract: """
                As a box starts, before nginx serves its files: apply the deletes other boxes made \
                while it was down; with the database unreachable, remove a distributed box's copies.
                """)

        func run() throws { ReplayDeletesCommand.run(environment: WorkerMain.environment) }
    }

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy SQLite records and local originals into PostgreSQL and the object store.")

        func run() throws { MigrateCommand.run(environment: WorkerMain.environment) }
    }
}
