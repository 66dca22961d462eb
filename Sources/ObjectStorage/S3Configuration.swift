/// Where the bucket is and how to sign for it. The endpoint is trusted configuration, not
/// user input: requests go to it without the link fetcher's address policy.
public struct S3Configuration: Sendable, Equatable {
    /// `http(s)://host[:port]`, no path: requests are path-style, `{endpoint}/{bucket}/{key}`.
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
