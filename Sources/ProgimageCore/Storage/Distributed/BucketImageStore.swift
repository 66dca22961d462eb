import Digest
import POSIX
public import ObjectStorage
public import ProgimageAPI
public import ProgimageDeployment

/// Originals in an S3-compatible bucket, one object per image (`originals/{id}.{ext}`),
/// with a disposable local copy in today's disk layout so nginx still serves a hit with
/// one `stat`. A miss fetches the object and leaves a copy; a box that lost its copies
/// serves every image again.
public final class BucketImageStore: ImageStore {
    public let bucket: S3Client
    public let localCopies: FileImageStore
    private let maxBytes: Int
    /// An image's record; nil when it has none (or the database cannot say). Asked before
    /// a fetched object becomes the local copy (its sha256, and the copy's date), and again
    /// after it is written: a delete that ran meanwhile (its record gone, its tombstone
    /// perhaps already applied here) must not leave the copy.
    private let record: @Sendable (ImageID) -> ImageRecord?

    public init(bucket: S3Client, localCopies: FileImageStore, maxBytes: Int, record: @escaping @Sendable (ImageID) -> ImageRecord?) {
        self.bucket = bucket
        self.localCopies = localCopies
        self.maxBytes = maxBytes
        self.record = record
    }

    /// The store of a box (and of its check): the bucket `settings` name, records from
    /// `metadata`, a lookup that fails taken as no record.
    public convenience init(settings: ObjectStoreSettings, localCopies: FileImageStore, maxBytes: Int, metadata: any MetadataStore) {
        self.init(
            bucket: S3Client(configuration: S3Configuration(settings)), localCopies: localCopies, maxBytes: maxBytes,
            record: { id in (try? metadata.record(id)) ?? nil })
    }

    public static func key(id: ImageID, format: ImageFormat) -> String { "originals/\(id).\(format.rawValue)" }

    /// The object first: when this returns the bucket has the bytes (and checked their
    /// MD5). The local copy is a convenience; failing to write it loses nothing.
    public func write(_ bytes: [UInt8], id: ImageID, format: ImageFormat) throws(ServiceError) {
        do {
            try bucket.put(key: Self.key(id: id, format: format), bytes: bytes, contentType: format.contentType)
        } catch {
            throw Self.serviceError(error)
        }
        try? localCopies.write(bytes, id: id, format: format, durable: false)
    }

    public func read(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8] {
        if let local = try? localCopies.read(id: id, format: format) { return local }
        let fetched: [UInt8]?
        do {
            fetched = try bucket.get(key: Self.key(id: id, format: format), limit: maxBytes)
        } catch {
            throw Self.serviceError(error)
        }
        guard let fetched, let recorded = record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        // Bytes that do not hash to the record's sha256 are not the original: a byte flipped
        // on the way from the store had become the local copy, served bit for bit wrong as
        // a HIT (a black-box probe, through a proxy that damaged answers).
        guard SHA256.hex(fetched) == recorded.sha256 else {
            throw ServiceError(.storageUnavailable, "the object store answered bytes for \(id) that are not its original (sha256 differs)")
        }
        if (try? localCopies.write(fetched, id: id, format: format, durable: false)) != nil {
            localCopies.date(id: id, format: format, createdAt: recorded.createdAt)
        }
        guard record(id) != nil else {
            removeLocalCopy(id: id, format: format)
            throw ServiceError(.notFound, "no image with id \(id)")
        }
        return fetched
    }

    /// The local copy, fetched when it is not there, without reading a copy that is: nginx
    /// serves the file itself. A copy that could not be written (its disk full) is the
    /// fetched bytes, answered from memory: nginx had found no file and answered a `404`,
    /// cacheable for a day, for an image that exists.
    public func fileForNginx(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]? {
        let path = localCopies.path(id: id, format: format)
        guard !Files.exists(path) else { return nil }
        let bytes = try read(id: id, format: format)
        return Files.exists(path) ? nil : bytes
    }

    /// The local copy, then the object.
    public func remove(id: ImageID, format: ImageFormat) throws(ServiceError) {
        removeLocalCopy(id: id, format: format)
        do {
            try bucket.delete(key: Self.key(id: id, format: format))
        } catch {
            throw Self.serviceError(error)
        }
    }

    public func date(id: ImageID, format: ImageFormat, createdAt: String) {
        localCopies.date(id: id, format: format, createdAt: createdAt)
    }

    public func removeLocalCopy(id: ImageID, format: ImageFormat) {
        try? localCopies.remove(id: id, format: format)
    }

    public var isAvailable: Bool { (try? bucket.probe()) != nil }

    /// Whether the local copy at `path` may go: its image's object is in the bucket. A file
    /// of another name, or a store that cannot say, keeps it: the local copy of an original
    /// whose object was lost is its only copy, and `prune` had removed it (a black-box
    /// tester: `check` reported the object missing, `prune` then left no copy anywhere).
    public func localCopyIsDisposable(at path: String) -> Bool {
        guard let (id, format) = FileImageStore.image(fileName: path.split(separator: "/").last ?? ""),
            localCopies.path(id: id, format: format) == path
        else { return false }
        return (try? bucket.contains(key: Self.key(id: id, format: format))) == true
    }

    /// Puts the local copy back as the object when it is the recorded original (`sha256`);
    /// false when there is no copy here or it is other bytes.
    func restoreFromLocalCopy(id: ImageID, format: ImageFormat, sha256: String) throws(ServiceError) -> Bool {
        guard let copy = try? localCopies.read(id: id, format: format), SHA256.hex(copy) == sha256 else { return false }
        do {
            try bucket.put(key: Self.key(id: id, format: format), bytes: copy, contentType: format.contentType)
        } catch {
            throw Self.serviceError(error)
        }
        return true
    }

    /// Every object under `originals/`, for `check`: its key, and the image it is when the
    /// key is one this service writes.
    func listOriginals() throws(ServiceError) -> [(key: String, image: (ImageID, ImageFormat)?, modified: Int)] {
        do {
            return try bucket.list(prefix: "originals/").map { object in (object.key, Self.image(ofKey: object.key), object.modified) }
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// The image whose original `key` is, when it is a key this service writes (`key(id:format:)`).
    static func image(ofKey key: String) -> (ImageID, ImageFormat)? {
        guard key.hasPrefix("originals/") else { return nil }
        let parts = key.dropFirst("originals/".count).split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let id = ImageID(parts[0]), let format = ImageFormat(rawValue: String(parts[1])) else { return nil }
        return (id, format)
    }

    /// Moves an object to `lost+found/{key}` in the same bucket: copied on the store, then
    /// removed. Nothing is deleted that is not kept.
    func moveToLostAndFound(key: String) throws(ServiceError) {
        do {
            try bucket.copy(key: key, to: "lost+found/" + key)
            try bucket.delete(key: key)
        } catch {
            throw Self.serviceError(error)
        }
    }

    /// Puts an object `moveToLostAndFound` moved back where it was; false when
    /// `lost+found/{key}` is not there, or (with `sha256`) is not those bytes: a repair had
    /// put back whatever lay there under the key, reported "repaired", and every box's
    /// fetch then refused it as not the original (a black-box probe).
    func restoreFromLostAndFound(key: String, sha256: String? = nil) throws(ServiceError) -> Bool {
        do {
            if let sha256 {
                guard let kept = try bucket.get(key: "lost+found/" + key, limit: maxBytes), SHA256.hex(kept) == sha256 else {
                    return false
                }
            }
            try bucket.copy(key: "lost+found/" + key, to: key)
        } catch .refused(status: 404, _) {
            return false
        } catch {
            throw Self.serviceError(error)
        }
        do {
            try bucket.delete(key: "lost+found/" + key)
        } catch {
            throw Self.serviceError(error)
        }
        return true
    }

    /// A store that refuses this service's credentials or bucket (401, 403, 404: a wrong
    /// secret, a bucket gone) cannot be used by it, as one that is down cannot: `503`, the
    /// refusal in the log (it was `500`, and a DELETE on the same store was `503`). Any
    /// other refusal (a digest the store found wrong) is this service's error.
    static func serviceError(_ error: ObjectStorageError) -> ServiceError {
        switch error {
        case .unavailable(let message):
            ServiceError(.storageUnavailable, message)
        case .refused(let status, let message) where [401, 403, 404].contains(status):
            ServiceError(.storageUnavailable, "the object store refused this service (\(status)): \(message); check PROGIMAGE_S3_*")
        case .refused(let status, let message):
            ServiceError(.internalError, "the object store refused (\(status)): \(message)")
        }
    }
}
