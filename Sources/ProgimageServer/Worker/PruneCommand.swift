import ProgimageDeployment
import Logging
import ObjectStorage
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi prune [--max-bytes N]`: one `CachePruner` pass over
/// `PROGIMAGE_CACHE_DIR`, run hourly by `progimage-prune.timer`. The budget is `--max-bytes`,
/// else `PROGIMAGE_CACHE_MAX_BYTES` (`ServiceConfiguration.cacheMaxBytes`, 10 GiB by default).
/// With an object store, a second pass keeps the local copies of the originals under
/// `PROGIMAGE_LOCAL_COPIES_MAX_BYTES`; without one the originals are the only copy and are
/// never pruned.
public enum PruneCommand {
    /// Exits 0 after a clean pass, 1 if some entries could not be removed, 2 on a
    /// configuration error (which systemd does not retry). `maxBytes` nil: the configured
    /// budget.
    public static func run(maxBytes: Int?, environment: [String: String]) -> Never {
        let configuration = WorkerMain.configuration(environment, command: "progimage-fcgi prune")
        let maxBytes = maxBytes ?? configuration.cacheMaxBytes

        guard !CachePruner.overlaps(configuration.cacheDirectory, configuration.dataDirectory) else {
            fail("PROGIMAGE_CACHE_DIR \(configuration.cacheDirectory) overlaps PROGIMAGE_DATA_DIR "
                + "\(configuration.dataDirectory): refusing to prune where originals live")
        }

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "progimage")
        logger[metadataKey: "instance"] = "prune"
        // The cache's pass sets its usage counter from what it measured, as an eviction does.
        let budget = CacheBudget(root: configuration.cacheDirectory, maxBytes: configuration.cacheMaxBytes)
        var passes: [(Logger.Message, CachePruner, CacheBudget?)] = [
            // Never a file made in the last 5 s, as an eviction: a render hands its new file to
            // nginx by name, and a prune that removed it in between had nginx answer that
            // valid URL a 404, cacheable for a day (a black-box tester, 2-5 in 3,200).
            ("cache pruned", CachePruner(root: configuration.cacheDirectory, maxBytes: maxBytes, protectRecent: 5), budget)
        ]
        if let settings = configuration.objectStore {
            let store = BucketImageStore(
                bucket: S3Client(configuration: S3Configuration(settings)),
                localCopies: FileImageStore(root: configuration.originalsDirectory), maxBytes: configuration.maxUploadBytes,
                record: { _ in nil })
            let pruner = CachePruner(
                root: configuration.originalsDirectory, maxBytes: configuration.localCopiesMaxBytes,
                mayRemove: { store.localCopyIsDisposable(at: $0) })
            passes.append(("local copies pruned", pruner, nil))
        }
        var clean = true
        for (message, pruner, budget) in passes { clean = prune(pruner, budget: budget, message: message, logger: logger) && clean }
        exit(clean ? 0 : 1)
    }

    /// One pass, logged; false if something could not be removed or read.
    private static func prune(_ pruner: CachePruner, budget: CacheBudget?, message: Logger.Message, logger: Logger) -> Bool {
        let started = ServiceContext.monotonicSeconds()
        do {
            // (A pass that waits for the lock is never nil.)
            let report = try budget?.pass(pruner, waiting: true) ?? pruner.prune()
            logger.info(
                message,
                metadata: [
                    "cache": "\(pruner.root)", "max_bytes": "\(pruner.maxBytes)", "files": "\(report.files)",
                    "bytes_before": "\(report.bytesBefore)", "bytes_after": "\(report.bytesAfter)",
                    "removed_files": "\(report.removedFiles)", "removed_bytes": "\(report.removedBytes)",
                    "removed_directories": "\(report.removedDirectories)",
                    "removed_leftovers": "\(report.removedLeftovers)", "kept_files": "\(report.keptFiles)",
                    "dropped_overlay_uses": "\(report.droppedOverlayUses)", "errors": "\(report.errors)",
                    "ms": "\(Int((ServiceContext.monotonicSeconds() - started) * 1000))",
                ])
            return report.errors == 0
        } catch {
            logger.error("cannot prune", metadata: ["error": "\(error)", "root": "\(pruner.root)"])
            return false
        }
    }

    /// A non-negative integer, or nil.
    /// `--max-bytes`: a number of bytes.
    public static func byteCount(_ text: String) -> Int? {
        Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    private static func fail(_ message: String) -> Never {
        WorkerMain.fail(message, command: "progimage-fcgi prune")
    }
}
