import ProgimageDeployment
import ProgimageAPI
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi replay-deletes`: what a box does as it starts, before nginx serves its
/// disk. With a shared database, the deletes other boxes made while this one was down (the
/// deletion log, 30 days) are applied to its local copies and derived files; when the log
/// cannot be read and the originals live in a bucket, those copies are removed, since any
/// of them may be a deleted image's (a box restarted during a database outage served an
/// image deleted while it was away for the whole outage: a black-box probe). On one box
/// (no `PROGIMAGE_DATABASE_URL`) nobody else deletes: nothing to do.
///
/// systemd runs it at boot (`progimage-replay-deletes.service`, ordered before
/// `nginx.service`); `make run` through `check --at-start`, which goes on to the report.
public enum ReplayDeletesCommand {
    /// Exits 0 when the box is up to date, 1 when the log could not be read (its copies
    /// removed if they are copies), 2 on a configuration error.
    public static func run(environment: [String: String]) -> Never {
        let configuration = WorkerMain.configuration(environment, command: "progimage-fcgi replay-deletes")
        if configuration.databaseURL == nil {
            report("one box (no PROGIMAGE_DATABASE_URL): no deletes made elsewhere to apply")
        }
        exit(replay(configuration, report: report) ? 0 : 1)
    }

    /// The replay itself, shared with `check --at-start`; false when the log could not be
    /// read.
    static func replay(_ configuration: ServiceConfiguration, report: @escaping @Sendable (String) -> Void) -> Bool {
        guard let url = configuration.databaseURL else { return true }
        let cache = DerivedImageCache(root: configuration.cacheDirectory)
        let localCopies = FileImageStore(root: configuration.originalsDirectory)
        do {
            guard try PostgresMetadataStore.holdsImages(url: url) else {
                report("no progimage tables in PROGIMAGE_DATABASE_URL's database yet: no deletes to apply")
                return true
            }
            let log = PostgresMetadataStore(pool: PostgresPool(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 300))
            let fanOut = DeletionFanOut(log: log, cache: cache, localCopies: localCopies, bucket: nil, report: report)
            let applied = try fanOut.replay()
            report("\(applied) delete(s) of the last \(DeletionFanOut.retentionDays) days applied to this box's files")
            return true
        } catch {
            // Without a bucket the local originals are the only ones: they stay.
            if configuration.objectStore != nil {
                DeletionFanOut.removeCopies(cache: cache, localCopies: localCopies, because: error.message, report: report)
            } else {
                report("deletes made elsewhere cannot be read: \(error.message)")
            }
            return false
        }
    }

    private static func report(_ message: String) {
        let line = "progimage-fcgi replay-deletes: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
