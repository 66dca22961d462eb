/// Why an object-store operation failed, split by what the caller should do about it.
public enum ObjectStorageError: Error, Sendable, CustomStringConvertible {
    /// Unreachable, timed out, or answered 5xx on every attempt within the deadline:
    /// the store is down; try again later.
    case unavailable(String)
    /// A 4xx: the request itself was refused (credentials, bucket, digest). Not retried.
    case refused(status: Int, String)

    public var description: String {
        switch self {
        case .unavailable(let message): "object store unavailable: \(message)"
        case .refused(let status, let message): "object store refused the request (\(status)): \(message)"
        }
    }
}
