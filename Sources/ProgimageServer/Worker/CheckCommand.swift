import ProgimageDeployment
import ProgimageAPI
import ProgimageCore
import ObjectStorage
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi check [--repair] [--grace SECONDS]`: compares records, originals and the
/// cache (`StorageCheck`), with the service's own `PROGIMAGE_*` environment, while the
/// service runs or not. One line per finding on standard output, a summary on standard
/// error.
public enum CheckCommand {
    /// Exits 0 when everything is consistent (or was repaired), 1 when something is (still)
    /// wrong or there is no database to compare with, 2 on a configuration error. `grace`:
    /// seconds what no lock shows in flight may be younger than and still not count
    /// (`StorageCheck`).
    /// `atStart`: run as the box starts, before nginx serves its disk (`make run`): the
    /// deletes it missed first (`ReplayDeletesCommand`).
    public static func run(repair: Bool, grace: Int, atStart: Bool = false, environment: [String: String]) -> Never {
        let configuration = WorkerMain.configuration(environment, command: "progimage-fcgi check")
        // Deletes made on other boxes while this one was down, applied first (or, the log
        // unreadable, a distributed box's copies removed): `make run` runs this check
        // before nginx serves the disk. What is left is then reported as it stands.
        if atStart, !ReplayDeletesCommand.replay(configuration, report: { report($0) }) {
            report("cannot use PROGIMAGE_DATABASE_URL's database: nothing compared")
            exit(1)
        }

        // Never create or migrate a database here: in an empty or unrelated one every
        // original looks orphaned, and `--repair` moved them all to lost+found (a black-box
        // tester, with a 0-byte SQLite file).
        let metadata: any MetadataStore
        if let url = configuration.databaseURL {
            do {
                guard try PostgresMetadataStore.holdsImages(url: url) else {
                    report("no progimage tables in PROGIMAGE_DATABASE_URL's database: nothing to compare, nothing repaired")
                    exit(1)
                }
            } catch {
                report("cannot use PROGIMAGE_DATABASE_URL's database: \(error.message)")
                exit(1)
            }
            metadata = PostgresMetadataStore(pool: PostgresPool(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 300))
        } else {
            do {
                guard access(configuration.databasePath, F_OK) == 0 else {
                    report("no database at \(configuration.databasePath): nothing to compare, nothing repaired")
                    // A database lost (removed by hand, a restore not done) beside originals:
                    // the service makes a new empty one and they have no records (a black-box
                    // tester's start said only the line above).
                    let stranded = StorageCheck.originalFileCount(in: configuration.originalsDirectory)
                    if stranded > 0 {
                        report(
                            "\(configuration.originalsDirectory) holds \(stranded) original(s): without their database they have no "
                                + "records; put the database back before the service makes a new empty one (check --repair would "
                                + "move them to lost+found)")
                    }
                    exit(1)
                }
                guard try SQLiteMetadataStore.holdsImages(at: configuration.databasePath) else {
                    report("no progimage tables in \(configuration.databasePath): nothing to compare, nothing repaired")
                    exit(1)
                }
                metadata = try SQLiteMetadataStore(path: configuration.databasePath)
            } catch {
                report("cannot open \(configuration.databasePath): \(error.message)")
                exit(1)
            }
        }
        let localOriginals = FileImageStore(root: configuration.originalsDirectory)
        let bucket = configuration.objectStore.map { settings in
            BucketImageStore(settings: settings, localCopies: localOriginals, maxBytes: configuration.maxUploadBytes, metadata: metadata)
        }
        // Deletes made on other boxes since the api instance last applied them (at start,
        // done above).
        let cache = DerivedImageCache(root: configuration.cacheDirectory)
        if !atStart, configuration.databaseURL != nil, let log = metadata as? any DeletionLog {
            let fanOut = DeletionFanOut(log: log, cache: cache, localCopies: localOriginals, bucket: nil, report: { report($0) })
            do {
                try fanOut.replay()
            } catch {
                report("deletes made on other boxes not applied: \(error.message)")
            }
        }
        let check = StorageCheck(
            metadata: metadata, originals: localOriginals,
            cache: cache, dataDirectory: configuration.dataDirectory,
            originalsInFlight: OriginalsInFlight(configuration), bucket: bucket,
            deletionLog: bucket == nil ? nil : metadata as? any DeletionLog, grace: grace, notice: { report($0) })
        do {
            let (findings, unrepaired) = try check.run(repair: repair)
            for finding in findings { print(finding.description) }
            fflush(nil)  // the findings before the summary on standard error
            report(
                "\(findings.count) finding(s)"
                    + (repair
                        ? ", \(findings.count - unrepaired.count) repaired (orphans in \(configuration.dataDirectory)/lost+found"
                            + (bucket == nil ? ")" : " and the bucket's lost+found/)") : ""))
            exit(unrepaired.isEmpty ? 0 : 1)
        } catch {
            report("check failed: \(error.message)")
            exit(1)
        }
    }

    private static func report(_ message: String) {
        let line = "progimage-fcgi check: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    private static func fail(_ message: String) -> Never {
        WorkerMain.fail(message, command: "progimage-fcgi check")
    }
}
