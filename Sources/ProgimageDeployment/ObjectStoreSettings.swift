/// `PROGIMAGE_S3_*` as parsed: the bucket holding the originals and how to sign for it.
/// The service turns it into the S3 client's own configuration; kept apart so that what
/// reads the environment (the supervisor too) does not link the client and libcurl.
public struct ObjectStoreSettings: Sendable, Equatable {
    /// `http(s)://host[:port]`, no path, no trailing slash.
    public let endpoint: String
    public let bucket: String
    public let region: String
    public let accessKeyID: String
    public let secretAccessKey: String
    /// Bound on one operation as the caller sees it, retries included.
    public let timeoutSeconds: Double

    public init(endpoint: String, bucket: String, region: String, accessKeyID: String, secretAccessKey: String, timeoutSeconds: Double) {
        var trimmed = endpoint
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.endpoint = trimmed
        self.bucket = bucket
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.timeoutSeconds = timeoutSeconds
    }
}
