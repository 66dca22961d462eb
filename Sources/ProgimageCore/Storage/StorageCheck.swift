import POSIX
public import ProgimageAPI
#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi check [--repair]`: records, originals and the cache compared.
///
/// What it reports: an original without a record (an upload killed between the two
/// writes; none in flight, `OriginalsInFlight`), a record without its original (only where
/// the originals are on this disk), temp files a crashed writer left (their writer's pid is
/// in their name), and cache directories of images that no longer exist (older than
/// `grace`: a render racing its image's delete writes one for a moment); in the distributed mode, objects without a
/// record and records without an object in the bucket too. With `repair`, orphaned
/// originals and their temp files move to `{data}/lost+found/` (orphaned objects to the
/// bucket's `lost+found/`: nothing precious is deleted; a record's original is never
/// touched) and orphaned cache directories and cache temp files are removed (derived files
/// regenerate).
public struct StorageCheck {
    public enum Finding: Equatable, Sendable, CustomStringConvertible {
        case originalWithoutRecord(path: String)
        case recordWithoutOriginal(id: ImageID, expected: String)
        case temporaryFile(path: String)
        case cacheWithoutRecord(path: String)
        /// In the bucket: an upload whose record insert failed after its PUT.
        case objectWithoutRecord(key: String)
        /// A record whose object is not in the bucket.
        case recordWithoutObject(id: ImageID, key: String)

        public var description: String {
            switch self {
            case .originalWithoutRecord(let path): "original-without-record \(path)"
            case .recordWithoutOriginal(let id, let expected): "record-without-original \(id) \(expected)"
            case .temporaryFile(let path): "temporary-file \(path)"
            case .cacheWithoutRecord(let path): "cache-without-record \(path)"
            case .objectWithoutRecord(let key): "object-without-record \(key)"
            case .recordWithoutObject(let id, let key): "record-without-object \(id) \(key)"
            }
        }
    }

    public let metadata: any MetadataStore
    public let originals: FileImageStore
    public let cache: DerivedImageCache
    public let dataDirectory: String
    /// The bucket that holds the originals in the distributed mode: its objects are compared
    /// with the records too.
    public let bucket: BucketImageStore?
    /// The service's own uploads and deletes in flight: the check waits them out.
    public let originalsInFlight: OriginalsInFlight
    /// Whether a record's original must be on this disk (not with a bucket, where the local
    /// copy is optional): as the service's own lock knows it.
    public var originalsAreLocal: Bool { originalsInFlight.originalsAreLocal }
    /// Deleted images whose objects the fan-out has yet to remove: not orphans.
    public let deletionLog: (any DeletionLog)?
    public let grace: Int
    /// Told what the check could not do as asked (uploads that never paused long enough).
    public let notice: (String) -> Void

    public init(
        metadata: any MetadataStore, originals: FileImageStore, cache: DerivedImageCache, dataDirectory: String,
        originalsInFlight: OriginalsInFlight, bucket: BucketImageStore? = nil, deletionLog: (any DeletionLog)? = nil, grace: Int = 600,
        notice: @escaping (String) -> Void = { _ in }
    ) {
        self.notice = notice
        self.deletionLog = deletionLog
        self.metadata = metadata
        self.originals = originals
        self.cache = cache
        self.dataDirectory = dataDirectory
        self.originalsInFlight = originalsInFlight
        self.bucket = bucket
        self.grace = grace
    }

    /// What was found, and of it what is still so: everything without `repair`; with it,
    /// each finding is mended as found, and what is left is what could not be (a record
    /// whose original is nowhere).
    public func run(repair: Bool, now: Int = Timestamp.unixSeconds()) throws(ServiceError) -> (
        findings: [Finding], unrepaired: [Finding]
    ) {
        var records: [ImageID: ImageFormat] = [:]
        var cursor: ListCursor?
        repeat {
            let page = try metadata.list(limit: 1000, cursor: cursor)
            for record in page.records { records[record.id] = record.format }
            cursor = page.next
        } while cursor != nil

        var findings: [Finding] = []
        var present = Set<ImageID>()
        var unrecorded: [(path: String, image: (ImageID, ImageFormat)?)] = []
        for (first, second) in Self.shardDirectories(originals.root) {
            let directory = "\(originals.root)/\(first)/\(second)"
            for entry in Files.entries(in: directory) ?? [] where !entry.isDirectory {
                let path = "\(directory)/\(entry.name)"
                let image = FileImageStore.image(fileName: entry.name)
                // At its own path only: a copy of a recorded original in another shard folder
                // (moved by hand, a restore gone wrong) is nobody's, and was not reported
                // while the record stood (a black-box tester).
                if let (id, format) = image, records[id] == format, originals.path(id: id, format: format) == path {
                    present.insert(id)
                } else {
                    unrecorded.append((path, image))
                }
            }
        }
        let missing = originalsAreLocal ? records.filter { !present.contains($0.key) }.map { ($0.key, $0.value) } : []
        findings += try originalsNotMatchingRecords(unrecorded: unrecorded, missing: missing, now: now)
        if let bucket {
            let beingRemoved = Set(try deletionLog?.tombstonesAwaitingObjectRemoval(limit: 1_000_000).map(\.id) ?? [])
            var stored = Set<ImageID>()
            for object in try bucket.listOriginals() {
                if let (id, format) = object.image, records[id] == format {
                    stored.insert(id)
                } else if let (id, _) = object.image, beingRemoved.contains(id) {
                    continue  // a deleted image's object, which the deletion fan-out removes
                } else if now - object.modified >= grace {  // younger: an upload in progress
                    findings.append(.objectWithoutRecord(key: object.key))
                }
            }
            for (id, format) in records where !stored.contains(id) {
                findings.append(.recordWithoutObject(id: id, key: BucketImageStore.key(id: id, format: format)))
            }
        }
        // A temporary file's name says its writer (`Files.writeAtomically`): one whose
        // writer is gone is a crash's, whatever its age; none of another shape is written.
        for folder in [originals.root + "/.tmp", cache.root + "/.tmp"] {
            for entry in Files.entries(in: folder) ?? [] where Files.isWrittenNow(temporaryFile: entry.name) != true {
                findings.append(.temporaryFile(path: "\(folder)/\(entry.name)"))
            }
        }
        for (first, second) in Self.shardDirectories(cache.root) {
            let directory = "\(cache.root)/\(first)/\(second)"
            for entry in Files.entries(in: directory) ?? [] where entry.isDirectory {
                guard let id = ImageID(entry.name), records[id] == nil else { continue }
                guard age(of: "\(directory)/\(entry.name)", now: now) >= grace else { continue }
                findings.append(.cacheWithoutRecord(path: "\(directory)/\(entry.name)"))
            }
        }
        guard repair else { return (findings, findings) }
        var unrepaired: [Finding] = []
        for finding in findings where try !self.repair(finding) { unrepaired.append(finding) }
        return (findings, unrepaired)
    }

    /// Of the originals found without a record, and the records found without their
    /// original, those that really are so. On this disk alone (embedded), looked at again
    /// with every upload and delete finished and none starting (`OriginalsInFlight`): what
    /// is still so is reported, however young (a delete in flight had also shown its record
    /// without the original). With a bucket, local copies of images another box deleted
    /// wait for the deletion fan-out, which no lock here can see: only originals older than
    /// `grace` count, as when uploads never paused for 10 s.
    private func originalsNotMatchingRecords(
        unrecorded: [(path: String, image: (ImageID, ImageFormat)?)], missing: [(ImageID, ImageFormat)], now: Int
    ) throws(ServiceError) -> [Finding] {
        guard !unrecorded.isEmpty || !missing.isEmpty else { return [] }
        if originalsAreLocal, let judged = try originalsInFlight.withNoneInFlight(trying: 10_000, { () throws(ServiceError) -> [Finding] in
            var findings: [Finding] = []
            for candidate in unrecorded where Files.exists(candidate.path) {
                if let (id, format) = candidate.image, originals.path(id: id, format: format) == candidate.path,
                    try metadata.record(id)?.format == format
                {
                    continue
                }
                findings.append(.originalWithoutRecord(path: candidate.path))
            }
            for (id, format) in missing where !Files.exists(originals.path(id: id, format: format)) {
                guard try metadata.record(id) != nil else { continue }
                findings.append(.recordWithoutOriginal(id: id, expected: originals.path(id: id, format: format)))
            }
            return findings
        }) {
            return judged
        }
        if originalsAreLocal {
            notice("uploads and deletes never paused for 10 s: originals younger than \(grace) s were not judged")
        }
        return unrecorded.filter { age(of: $0.path, now: now) >= grace }.map { .originalWithoutRecord(path: $0.path) }
            + missing.map { .recordWithoutOriginal(id: $0.0, expected: originals.path(id: $0.0, format: $0.1)) }
    }

    /// Whether the finding is mended now.
    private func repair(_ finding: Finding) throws(ServiceError) -> Bool {
        switch finding {
        case .temporaryFile(let path) where path.hasPrefix(cache.root + "/.tmp/"):
            // Half a derived file: disposable as the cache is, and removed as orphaned cache
            // directories are (moved, it failed where the cache is another file system than
            // the data directory: a link cannot cross).
            do {
                try Files.remove(path)
            } catch {
                throw ServiceError(.internalError, "cannot remove \(path): \(error)")
            }
        case .originalWithoutRecord(let path), .temporaryFile(let path):
            let lostAndFound = dataDirectory + "/lost+found"
            do {
                try Files.makeDirectories(lostAndFound)
            } catch {
                throw ServiceError(.internalError, error.description)
            }
            // Beside what earlier repairs moved there, never over it: an orphan of a name
            // lost+found already held replaced the first.
            let name = path.split(separator: "/").suffix(2).joined(separator: "-")
            do {
                _ = try Files.move(path, into: lostAndFound, as: name)
            } catch {
                throw ServiceError(.internalError, "cannot move \(path) to \(lostAndFound): \(error)")
            }
        case .cacheWithoutRecord(let path):
            if let id = path.split(separator: "/").last.flatMap({ ImageID($0) }) { cache.removeAll(of: id) }
            // Its shard folders too when it was their last image (`rmdir` refuses one that
            // is not empty; a render that loses its folder this way writes again): a repair
            // left `Qq/Qq` behind (a black-box tester).
            let shard = Files.parent(of: path)
            if rmdir(shard) == 0 { _ = rmdir(Files.parent(of: shard)) }
        case .objectWithoutRecord(let key):
            guard let bucket else { break }
            // An upload's record may have come since the records were read: with `--grace 0`
            // a check beside uploads moved 148 live originals of 1304 away (a black-box
            // probe). Looked at again just before the move, and once more after it, when
            // the object goes back if its record came in between.
            func isRecorded() throws(ServiceError) -> Bool {
                guard let (id, format) = BucketImageStore.image(ofKey: key) else { return false }
                return try metadata.record(id)?.format == format
            }
            guard try !isRecorded() else { break }
            try bucket.moveToLostAndFound(key: key)
            if try isRecorded() { _ = try bucket.restoreFromLostAndFound(key: key) }
        case .recordWithoutObject(let id, let key):
            // Put back when an earlier repair had moved it to lost+found, or from this box's
            // local copy, when it is the recorded original; otherwise the record stays,
            // reported (a record's original is never made up).
            guard let bucket, let record = try metadata.record(id) else { return false }
            if try bucket.restoreFromLostAndFound(key: key, sha256: record.sha256) { return true }
            return try bucket.restoreFromLocalCopy(id: id, format: record.format, sha256: record.sha256)
        case .recordWithoutOriginal:
            return false
        }
        return true
    }

    /// How many files the originals' shard folders under `root` hold, records or not: what
    /// a data directory whose database is gone would leave without records.
    public static func originalFileCount(in root: String) -> Int {
        shardDirectories(root).reduce(0) { count, shard in
            count + (Files.entries(in: "\(root)/\(shard.0)/\(shard.1)") ?? []).filter { !$0.isDirectory }.count
        }
    }

    /// `{root}/{s1}/{s2}` directories: two-character shard names only (not `.tmp`, `.locks`).
    private static func shardDirectories(_ root: String) -> [(String, String)] {
        var found: [(String, String)] = []
        for first in Files.entries(in: root) ?? [] where first.isDirectory && Self.isShard(first.name) {
            for second in Files.entries(in: "\(root)/\(first.name)") ?? [] where second.isDirectory && Self.isShard(second.name) {
                found.append((first.name, second.name))
            }
        }
        return found
    }

    private static func isShard(_ name: String) -> Bool {
        name.count == 2 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    private func age(of path: String, now: Int) -> Int {
        var status = stat()
        guard lstat(path, &status) == 0 else { return 0 }
        return now - Int(status.st_mtim.tv_sec)
    }
}
