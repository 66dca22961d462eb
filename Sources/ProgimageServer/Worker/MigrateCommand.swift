import ProgimageDeployment
import Digest
import Logging
import ObjectStorage
import ProgimageAPI
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi migrate`: copies a single box (the SQLite database and the originals in
/// `PROGIMAGE_DATA_DIR`) into PostgreSQL (`PROGIMAGE_DATABASE_URL`) and the bucket
/// (`PROGIMAGE_S3_*`): the path from one box to many (docs/SCALING.md).
///
/// Oldest first, so the list keeps its order. Per image: the original is read and checked
/// against its recorded SHA-256, put into the bucket, read back and checked again, and
/// only then is the record inserted, so a record never exists without its verified object.
/// An image whose record is already in PostgreSQL is skipped: the command is idempotent, and
/// an interrupted run resumes where it stopped. Deletes carry over between passes both
/// ways: one made on the box since an earlier pass is made in PostgreSQL, and one made in
/// PostgreSQL (its tombstone) keeps the box's record from being copied again. The local originals stay where they are;
/// they are the new mode's local copies.
public enum MigrateCommand {

    /// Exits 0 when every image is in PostgreSQL and the bucket, 1 if some could not be
    /// copied (each named on standard error; run again to retry them), 2 on a usage or
    /// configuration error.
    public static func run(environment: [String: String]) -> Never {
        let configuration = WorkerMain.configuration(environment, command: "progimage-fcgi migrate")
        guard let url = configuration.databaseURL, let bucketConfiguration = configuration.objectStore else {
            fail("set PROGIMAGE_DATABASE_URL and PROGIMAGE_S3_* (the destination) beside PROGIMAGE_DATA_DIR (the source)")
        }
        guard access(configuration.databasePath, R_OK) == 0 else {
            fail("no SQLite database at \(configuration.databasePath): nothing to migrate")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "progimage")
        logger[metadataKey: "instance"] = "migrate"

        let source: SQLiteMetadataStore
        do {
            source = try SQLiteMetadataStore(path: configuration.databasePath)
        } catch {
            fail("cannot open \(configuration.databasePath): \(error.message)")
        }
        let localOriginals = FileImageStore(root: configuration.originalsDirectory)
        let destination = PostgresMetadataStore(pool: PostgresPool(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 300))
        let bucket = S3Client(configuration: S3Configuration(bucketConfiguration))

        var tally = (copied: 0, skipped: 0, deleted: 0, failed: 0)
        // Deleted on this box since an earlier pass: deleted in PostgreSQL too (its
        // tombstone has every box remove its copies, and the fan-out the object), not left
        // to come back when the box restarts distributed.
        do {
            for id in try source.deletedIDs() where try destination.record(id) != nil {
                if try destination.delete(id) { tally.deleted += 1 }
            }
        } catch {
            fail("carrying over deletes: \(error.message)")
        }
        var after: Int64 = 0
        while true {
            let batch: [(sequence: Int64, record: ImageRecord)]
            do {
                batch = try source.records(after: after, limit: 200)
            } catch {
                fail("reading \(configuration.databasePath): \(error.message)")
            }
            for (sequence, record) in batch {
                after = sequence
                do {
                    // Already there, or deleted there since an earlier pass copied it: a
                    // later pass from this box's files must not bring it back.
                    var skip = try destination.record(record.id) != nil
                    if !skip { skip = try destination.isDeleted(record.id) }
                    if skip {
                        tally.skipped += 1
                        continue
                    }
                    try copy(record, from: localOriginals, to: bucket)
                    _ = try destination.insertIfAbsent(record)
                    tally.copied += 1
                } catch {
                    tally.failed += 1
                    logger.error("not migrated", metadata: ["id": "\(record.id)", "error": "\(error.message)"])
                }
            }
            if batch.count < 200 { break }
        }
        logger.info(
            "migrated",
            metadata: [
                "copied": "\(tally.copied)", "skipped": "\(tally.skipped)", "deleted": "\(tally.deleted)",
                "failed": "\(tally.failed)",
            ])
        exit(tally.failed == 0 ? 0 : 1)
    }

    /// Original → bucket, checked by SHA-256 on both sides.
    private static func copy(_ record: ImageRecord, from originals: FileImageStore, to bucket: S3Client) throws(ServiceError) {
        let bytes = try originals.read(id: record.id, format: record.format)
        guard SHA256.hex(bytes) == record.sha256 else {
            throw ServiceError(.internalError, "the original on disk does not match its recorded sha256")
        }
        let key = BucketImageStore.key(id: record.id, format: record.format)
        do {
            try bucket.put(key: key, bytes: bytes, contentType: record.format.contentType)
            guard let stored = try bucket.get(key: key, limit: bytes.count + 1), SHA256.hex(stored) == record.sha256 else {
                throw ServiceError(.internalError, "the object read back does not match the original's sha256")
            }
        } catch let error as ObjectStorageError {
            throw ServiceError(.storageUnavailable, error.description)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.internalError, "\(error)")
        }
    }

    private static func fail(_ message: String) -> Never {
        WorkerMain.fail(message, command: "progimage-fcgi migrate")
    }
}
