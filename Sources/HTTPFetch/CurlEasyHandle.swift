internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// One libcurl easy handle kept across requests (its connection stays open between them),
/// with the response buffer its write callback fills, for trusted endpoints: the object
/// store (SigV4-signed) and the service itself (the Swift client). Options are reset
/// before every request; the header list lives until the next one. One request at a time.
///
/// The client used Foundation's URLSession, which on Linux (libcurl's multi interface
/// under dispatch) spun a core while it waited: 4.8 s of CPU in 6 s of waiting on a
/// silent server. A blocking `curl_easy_perform` waits in `poll`.
public final class CurlEasyHandle: @unchecked Sendable {
    private let easy: UnsafeMutableRawPointer
    private let buffer: UnsafeMutablePointer<ccurl_buffer>
    private var headerList: UnsafeMutablePointer<curl_slist>?

    public init?() {
        guard curlGlobalInit, let easy = curl_easy_init() else { return nil }
        self.easy = easy
        buffer = .allocate(capacity: 1)
        buffer.initialize(to: ccurl_buffer())
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        free(buffer.pointee.data)
        buffer.deallocate()
    }

    /// What one exchange produced: a status and body, or libcurl's reason for having none.
    public struct Outcome: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var failure: String?
        public var tooLarge: Bool
        /// The answer's `Content-Type`, as sent; nil without one.
        public var contentType: String?

        public init(status: Int, body: [UInt8], failure: String?, tooLarge: Bool, contentType: String? = nil) {
            (self.status, self.body, self.failure, self.tooLarge, self.contentType) = (status, body, failure, tooLarge, contentType)
        }
    }

    /// SigV4 by libcurl: `scope` is `aws:amz:{region}:s3`.
    public struct Signing: Sendable {
        public let scope: String
        public let user: String
        public let password: String

        public init(scope: String, user: String, password: String) {
            (self.scope, self.user, self.password) = (scope, user, password)
        }
    }

    /// One request: `method` on `url` (http or https), signed when `signing` is given, the
    /// given headers, an optional body, a whole-exchange time limit, and at most `limit`
    /// response bytes kept; redirects followed (at most 5) when `followRedirects`.
    public func perform(
        method: String, url: String, signing: Signing? = nil, headers: [String], body: [UInt8]?,
        timeoutMilliseconds: Int, limit: Int, followRedirects: Bool = false
    ) -> Outcome {
        curl_easy_reset(easy)
        curl_slist_free_all(headerList)
        headerList = nil
        for header in headers { headerList = curl_slist_append(headerList, header) }

        var ok = ccurl_setopt_string(easy, CURLOPT_URL, url) == CURLE_OK
        ok = ok && ccurl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        if let signing {
            ok = ok && ccurl_setopt_string(easy, CURLOPT_AWS_SIGV4, signing.scope) == CURLE_OK
            ok = ok && ccurl_setopt_string(easy, CURLOPT_USERNAME, signing.user) == CURLE_OK
            ok = ok && ccurl_setopt_string(easy, CURLOPT_PASSWORD, signing.password) == CURLE_OK
        }
        if followRedirects {
            ok = ok && ccurl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1) == CURLE_OK
            ok = ok && ccurl_setopt_long(easy, CURLOPT_MAXREDIRS, 5) == CURLE_OK
            ok = ok && ccurl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK
        }
        ok = ok && ccurl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList) == CURLE_OK
        ok = ok && ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, timeoutMilliseconds)) == CURLE_OK
        ok = ok && ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(timeoutMilliseconds, 3000))) == CURLE_OK
        ok = ok && ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        // Large bodies would wait up to a second for `100 Continue`. Removing the header
        // (`Expect:`) is not an option: libcurl 7.88 signs the removed header and the
        // store answers SignatureDoesNotMatch (measured against SeaweedFS).
        ok = ok && ccurl_setopt_long(easy, CURLOPT_EXPECT_100_TIMEOUT_MS, 1) == CURLE_OK
        ok = ok && ccurl_buffer_attach(easy, buffer, limit) == CURLE_OK
        switch method {
        case "HEAD": ok = ok && ccurl_setopt_long(easy, CURLOPT_NOBODY, 1) == CURLE_OK
        case "GET": break
        default: ok = ok && ccurl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK
        }
        guard ok else { return Outcome(status: 0, body: [], failure: "libcurl refused an option", tooLarge: false) }

        let code: CURLcode
        if let body {
            code = body.withUnsafeBufferPointer { bytes in
                // POSTFIELDS is read during perform only, and the buffer outlives it here;
                // with CUSTOMREQUEST "PUT" libcurl sends it as the PUT body.
                _ = ccurl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                _ = ccurl_setopt_pointer(easy, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafePointer(bitPattern: 1))
                return curl_easy_perform(easy)
            }
        } else {
            code = curl_easy_perform(easy)
        }
        var status = 0
        _ = ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        let tooLarge = buffer.pointee.too_large != 0
        if code != CURLE_OK && !tooLarge {
            return Outcome(status: 0, body: [], failure: String(cString: curl_easy_strerror(code)), tooLarge: false)
        }
        let received = Array(UnsafeBufferPointer(start: buffer.pointee.data, count: buffer.pointee.length))
        var contentType: UnsafePointer<CChar>?
        _ = ccurl_getinfo_string(easy, CURLINFO_CONTENT_TYPE, &contentType)
        return Outcome(
            status: status, body: received, failure: nil, tooLarge: tooLarge, contentType: contentType.map { String(cString: $0) })
    }
}
