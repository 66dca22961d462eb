internal import Digest
import HTTPFetch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Objects in one bucket of an S3-compatible store: path-style URLs, SigV4 signed by
/// libcurl (`CURLOPT_AWS_SIGV4`). libcurl 7.88 does not send `x-amz-content-sha256`,
/// which S3 requires, so it is set here (and libcurl then signs it); `Content-MD5` makes
/// the store check the body it received.
///
/// Every operation is bounded by `timeoutSeconds` as the caller sees it. Within that,
/// connection failures and 5xx answers are retried with backoff (at most four attempts);
/// a 4xx never is. Easy handles are pooled, so each thread reuses one and its connection.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    private let handles = Mutex<[CurlEasyHandle]>([])
    private static let maximumAttempts = 4
    private static let emptyPayloadSHA256 = SHA256.hex([])

    public init(configuration: S3Configuration) {
        self.configuration = configuration
    }

    /// Stores `bytes` under `key`; when this returns, the store has acknowledged them.
    public func put(key: String, bytes: [UInt8], contentType: String) throws(ObjectStorageError) {
        let headers = [
            "x-amz-content-sha256: \(SHA256.hex(bytes))",
            "Content-MD5: \(Self.base64(MD5.hash(bytes)))",
            "Content-Type: \(contentType)",
        ]
        let outcome = try send(method: "PUT", path: objectPath(key), headers: headers, body: bytes, limit: 1 << 16)
        guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
    }

    /// The object's bytes, or nil when there is no such object. More than `limit` bytes
    /// is an error: the store holds something this service did not write.
    public func get(key: String, limit: Int) throws(ObjectStorageError) -> [UInt8]? {
        let outcome = try send(method: "GET", path: objectPath(key), headers: unsignedPayload, body: nil, limit: limit)
        if outcome.status == 404 { return nil }
        guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
        guard !outcome.tooLarge else { throw .refused(status: outcome.status, "object \(key) is larger than \(limit) bytes") }
        return outcome.body
    }

    /// Whether the object is there (`HEAD`).
    public func contains(key: String) throws(ObjectStorageError) -> Bool {
        let outcome = try send(method: "HEAD", path: objectPath(key), headers: unsignedPayload, body: nil, limit: 0)
        if outcome.status == 404 { return false }
        guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
        return true
    }

    /// Removes the object; removing one that is not there succeeds (S3 answers 204 either way).
    public func delete(key: String) throws(ObjectStorageError) {
        let outcome = try send(method: "DELETE", path: objectPath(key), headers: unsignedPayload, body: nil, limit: 1 << 16)
        guard (200..<300).contains(outcome.status) || outcome.status == 404 else { throw Self.refusal(outcome) }
    }

    /// One object of a listing: its key and when it was last written (seconds since the epoch).
    public struct Listed: Sendable, Equatable {
        public let key: String
        public let modified: Int
    }

    /// Every object whose key starts with `prefix` (ListObjectsV2, a thousand a page).
    public func list(prefix: String) throws(ObjectStorageError) -> [Listed] {
        var listed: [Listed] = []
        var token: String?
        repeat {
            // The query in SigV4's canonical order (sorted by name), each value encoded once.
            var query = token.map { ["continuation-token=\(Self.encode($0))"] } ?? []
            query += ["list-type=2", "prefix=\(Self.encode(prefix))"]
            let path = "/\(Self.encode(configuration.bucket))?" + query.joined(separator: "&")
            let outcome = try send(method: "GET", path: path, headers: unsignedPayload, body: nil, limit: 1 << 24)
            guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
            let page = ListingPage(String(decoding: outcome.body, as: UTF8.self))
            listed += page.objects
            token = page.isTruncated ? page.nextToken : nil
        } while token != nil
        return listed
    }

    /// Copies an object to another key of the bucket, on the store (CopyObject). Only a
    /// `CopyObjectResult` is success: S3 may answer 200 with an `<Error>` document when the
    /// copy fails after it started.
    public func copy(key: String, to target: String) throws(ObjectStorageError) {
        let headers = unsignedPayload + ["x-amz-copy-source: \(objectPath(key))"]
        let outcome = try send(method: "PUT", path: objectPath(target), headers: headers, body: [], limit: 1 << 16)
        guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
        guard String(decoding: outcome.body, as: UTF8.self).contains("<CopyObjectResult") else {
            throw .refused(status: outcome.status, "copy of \(key): \(Self.errorCode(outcome.body))")
        }
    }

    /// `HEAD` on the bucket: reachable, and these credentials may use it.
    public func probe() throws(ObjectStorageError) {
        let outcome = try send(method: "HEAD", path: "/\(Self.encode(configuration.bucket))", headers: unsignedPayload, body: nil, limit: 0)
        guard (200..<300).contains(outcome.status) else { throw Self.refusal(outcome) }
    }

    private var unsignedPayload: [String] { ["x-amz-content-sha256: \(Self.emptyPayloadSHA256)"] }

    private func objectPath(_ key: String) -> String {
        "/\(Self.encode(configuration.bucket))/" + key.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
    }

    /// One operation, retried within the deadline on connection failures and 5xx.
    private func send(method: String, path: String, headers: [String], body: [UInt8]?, limit: Int) throws(ObjectStorageError) -> CurlEasyHandle.Outcome {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(configuration.timeoutSeconds * 1000))
        let handle = try takeHandle()
        defer { handles.withLock { $0.append(handle) } }
        var lastProblem = "no attempt was made"
        var backoffMilliseconds = 100
        for attempt in 1...Self.maximumAttempts {
            let remaining = Self.milliseconds(deadline - clock.now)
            guard remaining > 0 else { break }
            let outcome = handle.perform(
                method: method, url: configuration.endpoint + path,
                signing: .init(
                    scope: "aws:amz:\(configuration.region):s3", user: configuration.accessKeyID,
                    password: configuration.secretAccessKey),
                headers: headers, body: body, timeoutMilliseconds: remaining, limit: limit)
            if let failure = outcome.failure {
                lastProblem = failure
            } else if outcome.status >= 500 {
                lastProblem = "HTTP \(outcome.status) \(Self.errorCode(outcome.body))"
            } else {
                return outcome
            }
            let pause = min(backoffMilliseconds, Self.milliseconds(deadline - clock.now))
            guard attempt < Self.maximumAttempts, pause > 0 else { break }
            usleep(UInt32(pause) * 1000)
            backoffMilliseconds *= 2
        }
        throw .unavailable("\(method) \(path): \(lastProblem)")
    }

    private func takeHandle() throws(ObjectStorageError) -> CurlEasyHandle {
        if let pooled = handles.withLock({ $0.popLast() }) { return pooled }
        guard let fresh = CurlEasyHandle() else { throw .unavailable("libcurl could not be initialized") }
        return fresh
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    private static func refusal(_ outcome: CurlEasyHandle.Outcome) -> ObjectStorageError {
        .refused(status: outcome.status, errorCode(outcome.body))
    }

    /// The `<Code>` of an S3 error document, or the status alone.
    private static func errorCode(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let open = text.firstRange(of: "<Code>"), let close = text[open.upperBound...].firstRange(of: "</Code>") else {
            return "no error document"
        }
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// RFC 3986 percent-encoding of one path segment: unreserved characters stay, every
    /// other byte is `%XX` (upper-case), as SigV4's canonical URI requires.
    static func encode(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// Standard base64 with padding, for `Content-MD5`.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".unicodeScalars)
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = (UInt32(chunk[0]) << 16) | (UInt32(chunk.count > 1 ? chunk[1] : 0) << 8) | UInt32(chunk.count > 2 ? chunk[2] : 0)
            for position in 0..<4 {
                if position <= chunk.count {
                    out.unicodeScalars.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 0x3F)])
                } else {
                    out.unicodeScalars.append("=")
                }
            }
            index += 3
        }
        return out
    }
}
