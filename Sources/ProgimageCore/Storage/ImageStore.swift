public import ProgimageAPI

/// Where originals live. Kept small so a deployment can later put originals on
/// S3-compatible storage without touching the pipeline; nginx serving originals from
/// disk is a property of `FileImageStore`, the one implementation today.
public protocol ImageStore: Sendable {
    /// Stores the original bit for bit; when this returns, the bytes are durable.
    func write(_ bytes: [UInt8], id: ImageID, format: ImageFormat) throws(ServiceError)
    func read(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]
    func remove(id: ImageID, format: ImageFormat) throws(ServiceError)
}
