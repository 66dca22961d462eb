import POSIX
public import ProgimageAPI

/// Originals on the local disk at `{root}/{id[0..2]}/{id[2..4]}/{id}.{ext}`, the layout
/// nginx's `try_files` mirrors, so originals are served by nginx without an instance.
/// Two shard levels of 64 entries each keep every directory small at any scale.
public struct FileImageStore: ImageStore {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func path(id: ImageID, format: ImageFormat) -> String {
        let (first, second) = id.shards
        return "\(root)/\(first)/\(second)/\(id).\(format.rawValue)"
    }

    /// The image whose original a file name (`{id}.{ext}`) is, when it is one this store
    /// writes; where the file must lie is `path(id:format:)`.
    static func image(fileName: some StringProtocol) -> (ImageID, ImageFormat)? {
        let parts = fileName.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let id = ImageID(parts[0]), let format = ImageFormat(rawValue: String(parts[1])) else { return nil }
        return (id, format)
    }

    public func write(_ bytes: [UInt8], id: ImageID, format: ImageFormat) throws(ServiceError) {
        try write(bytes, id: id, format: format, durable: true)
    }

    /// `durable: false` for a disposable copy (of an original kept elsewhere): atomic, not fsynced.
    public func write(_ bytes: [UInt8], id: ImageID, format: ImageFormat, durable: Bool) throws(ServiceError) {
        do {
            try Files.writeAtomically(bytes, to: path(id: id, format: format), temporaryDirectory: root + "/.tmp", durable: durable)
        } catch {
            throw error.isNoSpace
                ? ServiceError(.insufficientStorage, "no space left to store the image")
                : ServiceError(.internalError, error.description)
        }
    }

    public func read(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8] {
        do {
            return try Files.read(path(id: id, format: format))
        } catch {
            throw error.isMissing ? ServiceError(.notFound, "no image with id \(id)") : ServiceError(.internalError, error.description)
        }
    }

    public func fileForNginx(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]? {
        guard Files.exists(path(id: id, format: format)) else { throw ServiceError(.notFound, "no image with id \(id)") }
        return nil
    }

    public func date(id: ImageID, format: ImageFormat, createdAt: String) {
        guard let seconds = Timestamp.unixSeconds(of: createdAt) else { return }
        try? Files.setModificationTime(of: path(id: id, format: format), toSeconds: seconds)
    }

    /// Removes every image (the shard folders), for copies that can no longer be trusted:
    /// only ever where these are copies of originals kept elsewhere.
    public func removeEveryImage() {
        for entry in Files.entries(in: root) ?? [] where !entry.name.hasPrefix(".") {
            Files.removeTree(root + "/" + entry.name)
        }
    }

    public func remove(id: ImageID, format: ImageFormat) throws(ServiceError) {
        do {
            try Files.remove(path(id: id, format: format))
        } catch {
            throw ServiceError(.internalError, error.description)
        }
    }
}
