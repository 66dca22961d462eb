import ProgimageAPI

/// A request as the worker sees it: nginx's CGI parameters turned into Swift values, and
/// the body read only by handlers that need it.
public struct HTTPRequest: Sendable {
    public let method: String
    /// The decoded, normalized path (`DOCUMENT_URI`): nginx has already resolved `..`
    /// and percent-escapes.
    public let path: String
    /// The raw query string, without `?`.
    public let query: String
    /// Request headers by lower-case name (`content-type`, `authorization`, …).
    public let headers: [String: String]
    /// `Content-Length` as declared; nil when the request did not declare one.
    public let declaredLength: Int?
    /// True only for a scrape through nginx's loopback metrics listener, which alone sets
    /// the `METRICS_SCRAPE` parameter (a client can set `HTTP_*` parameters only).
    public let isMetricsScrape: Bool
    /// When nginx handed the request on (`NGINX_SENT_AT`, seconds since the epoch);
    /// nil when it did not say.
    public let sentAt: Double?
    /// True once nobody waits for the answer any more (nginx closed the connection: its
    /// client left, or it answered `504`): long work may stop.
    public let isAbandoned: @Sendable () -> Bool
    /// Reads the body given the declared length (which bounds the buffer) and the limit.
    let bodyReader: @Sendable (_ declaredLength: Int?, _ limit: Int) -> [UInt8]

    public init(
        method: String, path: String, query: String = "", headers: [String: String] = [:], declaredLength: Int? = nil,
        isMetricsScrape: Bool = false, sentAt: Double? = nil, isAbandoned: @escaping @Sendable () -> Bool = { false },
        body: @escaping @Sendable (_ declaredLength: Int?, _ limit: Int) -> [UInt8] = { _, _ in [] }
    ) {
        self.method = method
        self.isAbandoned = isAbandoned
        self.sentAt = sentAt
        self.isMetricsScrape = isMetricsScrape
        self.path = path
        self.query = query
        self.headers = headers
        self.declaredLength = declaredLength
        bodyReader = body
    }

    /// The declared body length, 0 when none was declared.
    public var contentLength: Int { declaredLength ?? 0 }

    /// CGI → HTTP: `HTTP_X_FOO` becomes `x-foo`; CONTENT_TYPE/LENGTH are headers too.
    init(
        parameters: [String: String], isAbandoned: @escaping @Sendable () -> Bool = { false },
        body: @escaping @Sendable (_ declaredLength: Int?, _ limit: Int) -> [UInt8]
    ) {
        var headers: [String: String] = [:]
        for (name, value) in parameters where name.hasPrefix("HTTP_") {
            headers[name.dropFirst(5).lowercased().replacingUnderscores()] = value
        }
        if let type = parameters["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        self.init(
            method: parameters["REQUEST_METHOD"] ?? "GET",
            path: parameters["DOCUMENT_URI"] ?? parameters["SCRIPT_NAME"] ?? "/",
            query: parameters["QUERY_STRING"] ?? "",
            headers: headers,
            declaredLength: Int(parameters["CONTENT_LENGTH"] ?? ""),
            isMetricsScrape: parameters["METRICS_SCRAPE"] == "1",
            sentAt: parameters["NGINX_SENT_AT"].flatMap(Double.init), isAbandoned: isAbandoned,
            body: body)
    }

    /// Reads the body, at most `limit + 1` bytes so "too large" is detectable.
    public func body(limit: Int) -> [UInt8] { bodyReader(declaredLength, limit) }

    /// The value of query parameter `name` (first occurrence, percent-decoded).
    public func queryValue(_ name: String) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? PercentDecoding.decode(parts[1], plusAsSpace: true) : "" }
        }
        return nil
    }

    public var isHead: Bool { method == "HEAD" }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
