import ProgimageDeployment
import Dispatch
import FastCGI
import Logging
import ProgimageAPI
import POSIX
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// The `progimage-fcgi` process: one role (`TRANSFORM_TYPE`), one listening socket, a pool
/// of threads, until SIGTERM.
public enum WorkerMain {
    /// The heap settings every subcommand runs with. Before any thread or buffer exists:
    /// see the functions for why.
    public static func prepareProcess() {
        ProcessMemory.prepareHeapPattern()
        ProcessMemory.keepOneHeapForReuse()
    }

    /// The process's environment, as every subcommand reads it.
    public static var environment: [String: String] { EnvironmentBlock.current() }

    /// Serves `TRANSFORM_TYPE`'s requests until SIGTERM.
    public static func serve(environment: [String: String]) -> Never {
        guard let name = environment["TRANSFORM_TYPE"], let role = TransformRole(rawValue: name) else {
            let known = TransformRole.all.map(\.rawValue).joined(separator: ", ")
            fail("TRANSFORM_TYPE must be one of: \(known)")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "progimage")
        logger[metadataKey: "instance"] = "\(role)"

        let configuration = WorkerMain.configuration(environment, command: "progimage-fcgi")
        guard let listen = FastCGIListenSocket.detect(environment: environment, path: environment["PROGIMAGE_SOCKET"]) else {
            fail("no listening socket: pass one on fd 0, via LISTEN_FDS, or set PROGIMAGE_SOCKET")
        }
        do {
            let context = try ServiceContext(configuration: configuration, role: role)
            let responder = Responder(context: context, logger: logger)
            // What an instance killed mid-write left: gone as soon as one starts again.
            let leftovers = [configuration.originalsDirectory, configuration.cacheDirectory].reduce(0) {
                $0 + Files.removeLeftovers(in: $1 + "/.tmp")
            }
            if leftovers > 0 { logger.info("removed temporary files of stopped writers", metadata: ["files": "\(leftovers)"]) }
            if role == .api {
                // Once a box, at start: a mistyped variable runs on its default otherwise.
                for warning in KnownVariables.warnings(for: environment) { logger.warning("\(warning)") }
                // The shared counter may be stale (a crash, a wiped cache): measure once.
                context.spaceReserve?.ensure()
                context.cache.budget?.evictInBackground()
                let purged = PresetCachePurge.run(cache: context.cache, presets: configuration.presets)
                if !purged.isEmpty { logger.info("presets changed: their derived files removed", metadata: ["presets": "\(purged)"]) }
                if let finished = try? context.unfinishedDeletions?.finishAll(cache: context.cache, originals: context.originals),
                    finished > 0
                {
                    logger.warning("finished deletes an earlier instance was stopped in", metadata: ["images": "\(finished)"])
                }
            }
            if role == .api, context.deletionLog != nil, let url = configuration.databaseURL {
                // Deletes made on other boxes reach this one through the api instance. On a
                // pool of its own: its retries through an outage had started the requests'
                // connect backoff, which answered the first requests after a database
                // restart `503` though none had come during it.
                let log = PostgresMetadataStore(pool: PostgresPool(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 5))
                let fanOut = DeletionFanOut(
                    log: log, cache: context.cache, localCopies: context.bucketOriginals?.localCopies
                        ?? FileImageStore(root: configuration.originalsDirectory),
                    bucket: context.bucketOriginals, report: { [logger] message in logger.warning("\(message)") })
                DispatchQueue.global().async { fanOut.run() }
            }
            if role == .api, let legacy = context.metadata as? any RecordsBeforePlaceholders {
                let backfill = PlaceholderBackfill(records: legacy, originals: context.originals, ingest: context.ingest)
                DispatchQueue.global(qos: .background).async { [logger] in
                    let (filled, failed) = backfill.run(report: { message in logger.warning("\(message)") })
                    if filled + failed > 0 {
                        logger.info(
                            "placeholders given to records made before them",
                            metadata: ["filled": "\(filled)", "not_filled": "\(failed)"])
                    }
                }
            }
            let threads = role == .api ? configuration.apiThreads : configuration.threads
            let server = try FastCGIServer(listen: listen, threads: threads) { exchange in
                responder.handle(exchange)
            }
            logger.info("serving", metadata: ["pid": "\(getpid())", "threads": "\(threads)"])
            server.run()
            // A statement's bound (5 s) and some: a write queued behind one that hangs.
            context.workAfterAnswers.finish(withinSeconds: 12)
            context.metrics?.flush()
            logger.info("stopped")
            exit(0)
        } catch {
            fail("cannot start: \(error)")
        }
    }

    /// The `PROGIMAGE_*` settings, or exit 2 naming the one that does not parse: every
    /// subcommand reads the same environment the same way.
    static func configuration(_ environment: [String: String], command: String) -> ServiceConfiguration {
        do {
            return try ServiceConfiguration(environment: environment)
        } catch {
            fail("configuration: \(error)", command: command)
        }
    }

    /// Writes `command: message` to standard error and exits 2 (a usage or configuration
    /// error, which systemd does not retry).
    static func fail(_ message: String, command: String = "progimage-fcgi") -> Never {
        let line = "\(command): \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
}
