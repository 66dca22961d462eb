public import ProgimageAPI

/// Where originals live. Kept small so a deployment can later put originals on
/// S3-compatible storage without touching the pipeline; nginx serving originals from
/// disk is a property of `FileImageStore`, the one implementation today.
public protocol ImageStore: Sendable {
    /// Stores the original bit for bit; when this returns, the bytes are durable.
    func write(_ bytes: [UInt8], id: ImageID, format: ImageFormat) throws(ServiceError)
    func read(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]
    func remove(id: ImageID, format: ImageFormat) throws(ServiceError)
    /// Makes the original a file where nginx serves originals from: nil when it is there,
    /// its bytes when it cannot be kept there (no room for a local copy), for the caller
    /// to answer from memory; `notFound` when there is no such original.
    func fileForNginx(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]?
    /// Dates the original's file (its local copy) at the record's `created_at`: nginx's
    /// ETag and Last-Modified come from the file's mtime and size, so every box, and a copy
    /// fetched again, answers the same validators for the same bytes. Best effort.
    func date(id: ImageID, format: ImageFormat, createdAt: String)
}
