import ProgimageAPI

/// The answer for an image the cache had no room for (its budget full of files in use, the
/// disk full, or a box serving an original it could not keep): the bytes from memory,
/// answered as nginx answers the file it would have served, so that a client cannot tell
/// but for the next request being a MISS again. nginx's validators from the file's date and
/// length (`lastModified` is the date the file would carry: `DerivedImageRenderer.lastModified`,
/// or an original's `created_at`), its
/// conditional requests (`ConditionalRequest`: 304, 412) and its ranges (`ByteRangeRequest`:
/// one or several, 416).
struct UnkeptImageResponse {
    let bytes: [UInt8]
    let format: ImageFormat
    /// Seconds since the epoch.
    let lastModified: Int

    /// nginx's `ETag` for a file: its mtime and length in hex.
    var etag: String { "\"\(String(lastModified, radix: 16))-\(String(bytes.count, radix: 16))\"" }

    func response(to request: HTTPRequest) -> HTTPResponse {
        let validators: [(name: String, value: String)] = [
            ("ETag", etag), ("X-Cache", "MISS"), ("X-Progimage-Cache", "MISS"),
        ]
        var headers: [(name: String, value: String)] = [
            ("Content-Type", format.contentType), ("Cache-Control", "public, max-age=31536000, immutable"),
            ("Last-Modified", HTTPDate.format(lastModified)), ("X-Content-Type-Options", "nosniff"),
            ("Timing-Allow-Origin", "*"),
        ] + validators
        switch ConditionalRequest.outcome(request.headers, etag: etag, lastModified: lastModified) {
        case .send:
            break
        case .notModified:
            // The body whatever the status: its length is the Content-Length a 304 announces
            // (the responder writes no body for it, nor for a HEAD).
            return HTTPResponse(status: 304, headers: headers.filter { $0.name != "Content-Type" }, body: bytes)
        case .preconditionFailed:
            var refusal = ErrorResponse.make(
                ServiceError(.preconditionFailed, "the file does not meet the If-Match or If-Unmodified-Since sent"),
                method: request.method)
            // nginx's 412 for a file carries no ETag.
            refusal.headers += validators.filter { $0.name != "ETag" }
            return refusal
        }
        switch ByteRangeRequest.outcome(request.headers, etag: etag, lastModified: lastModified, length: bytes.count) {
        case .whole:
            headers.append(("Accept-Ranges", "bytes"))
            return HTTPResponse(status: 200, headers: headers, body: bytes)
        case .unsatisfiable:
            // The error edge's JSON, plus what RFC 9110 has a 416 say: the length there is.
            var refusal = ErrorResponse.make(
                ServiceError(.rangeNotSatisfiable, "the requested range is not within the file"),
                method: request.method)
            refusal.headers += [("Content-Range", "bytes */\(bytes.count)")] + validators
            return refusal
        case .parts(let ranges) where ranges.count == 1:
            let range = ranges[0]
            headers.append(("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(bytes.count)"))
            return HTTPResponse(status: 206, headers: headers, body: Array(bytes[range]))
        case .parts(let ranges):
            let boundary = Self.boundary()
            var body: [UInt8] = []
            for range in ranges {
                body += Array(
                    ("\r\n--\(boundary)\r\nContent-Type: \(format.contentType)\r\n"
                        + "Content-Range: bytes \(range.lowerBound)-\(range.upperBound - 1)/\(bytes.count)\r\n\r\n").utf8)
                body += bytes[range]
            }
            body += Array("\r\n--\(boundary)--\r\n".utf8)
            headers = headers.map { $0.name == "Content-Type" ? ($0.name, "multipart/byteranges; boundary=\(boundary)") : $0 }
            return HTTPResponse(status: 206, headers: headers, body: body)
        }
    }

    /// Twenty random digits, as nginx's boundaries are digits (its own are a counter's, which
    /// a file could be made to contain; these a file holds by chance 1 in 10^20).
    static func boundary() -> String {
        (0..<20).map { _ in String(Int.random(in: 0...9)) }.joined()
    }
}
