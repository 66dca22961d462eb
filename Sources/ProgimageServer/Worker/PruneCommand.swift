import Logging
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi prune [--max-bytes N]`: one `CachePruner` pass over
/// `PROGIMAGE_CACHE_DIR`, run hourly by `progimage-prune.timer`. The budget is `--max-bytes`,
/// else `PROGIMAGE_CACHE_MAX_BYTES` (`ServiceConfiguration.cacheMaxBytes`, 10 GiB by default).
enum PruneCommand {
    static let usage = "usage: progimage-fcgi prune [--max-bytes N]"

    /// Exits 0 after a clean pass, 1 if some entries could not be removed, 2 on a usage
    /// or configuration error (which systemd does not retry).
    static func run(arguments: [String], environment: [String: String]) -> Never {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(environment: environment)
        } catch {
            fail("configuration: \(error)")
        }
        var maxBytes = configuration.cacheMaxBytes
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--max-bytes":
                let text = remaining.popFirst() ?? ""
                guard let value = byteCount(text) else { fail("--max-bytes \(text): expected a number of bytes") }
                maxBytes = value
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                fail("unknown option \(argument)\n\(usage)")
            }
        }

        guard !CachePruner.overlaps(configuration.cacheDirectory, configuration.dataDirectory) else {
            fail("PROGIMAGE_CACHE_DIR \(configuration.cacheDirectory) overlaps PROGIMAGE_DATA_DIR "
                + "\(configuration.dataDirectory): refusing to prune where originals live")
        }

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "progimage")
        logger[metadataKey: "instance"] = "prune"
        let pruner = CachePruner(root: configuration.cacheDirectory, maxBytes: maxBytes)
        let started = ServiceContext.monotonicSeconds()
        do {
            let report = try pruner.prune()
            logger.info(
                "cache pruned",
                metadata: [
                    "cache": "\(pruner.root)", "max_bytes": "\(pruner.maxBytes)", "files": "\(report.files)",
                    "bytes_before": "\(report.bytesBefore)", "bytes_after": "\(report.bytesAfter)",
                    "removed_files": "\(report.removedFiles)", "removed_bytes": "\(report.removedBytes)",
                    "removed_directories": "\(report.removedDirectories)",
                    "removed_leftovers": "\(report.removedLeftovers)", "errors": "\(report.errors)",
                    "ms": "\(Int((ServiceContext.monotonicSeconds() - started) * 1000))",
                ])
            exit(report.errors == 0 ? 0 : 1)
        } catch {
            logger.error("cannot prune", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    /// A non-negative integer, or nil.
    private static func byteCount(_ text: String) -> Int? {
        Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    private static func fail(_ message: String) -> Never {
        WorkerMain.fail(message, command: "progimage-fcgi prune")
    }
}
