import Digest
import ProgimageAPI
#if canImport(Glibc)
import Glibc
#endif

/// The answer for a derived image the cache had no room for (its budget full of files in
/// use, or the disk full): the bytes from memory, with what nginx gives a file it serves,
/// so that a client cannot tell but for the next request being a MISS again. A strong
/// `ETag` from the bytes, `Last-Modified` now, `Accept-Ranges`; `If-None-Match` answers
/// `304`, a single `Range` `206` (several ranges, or an `If-Range` that does not match,
/// get the whole image, as RFC 9110 allows), a range past the end `416` with
/// `Content-Range: bytes */{length}`.
struct UnkeptImageResponse {
    let bytes: [UInt8]
    let format: ImageFormat

    func response(to request: HTTPRequest) -> HTTPResponse {
        let etag = "\"\(SHA256.hex(bytes).prefix(24))\""
        var headers: [(name: String, value: String)] = [
            ("Content-Type", format.contentType), ("Cache-Control", "public, max-age=31536000, immutable"),
            ("ETag", etag), ("Last-Modified", Self.httpDate(time(nil))), ("Accept-Ranges", "bytes"),
            ("X-Content-Type-Options", "nosniff"), ("Timing-Allow-Origin", "*"), ("X-Cache", "MISS"),
            ("X-Progimage-Cache", "MISS"),
        ]
        if let match = request.headers["if-none-match"],
            match.split(separator: ",").contains(where: { let tag = $0.trimming(" \t"); return tag == etag || tag == "*" || tag == "W/" + etag })
        {
            return HTTPResponse(status: 304, headers: headers.filter { $0.name != "Content-Type" }, body: bytes)
        }
        let ifRange = request.headers["if-range"]
        if let range = request.headers["range"], ifRange == nil || ifRange == etag, let wanted = Self.singleRange(range, length: bytes.count) {
            guard let wanted else {
                // The error edge's JSON, plus what RFC 9110 has a 416 say: the length there is.
                var refusal = ErrorResponse.make(
                    ServiceError(.rangeNotSatisfiable, "the requested range is not within the image's \(bytes.count) bytes"),
                    method: request.method)
                refusal.headers.append(("Content-Range", "bytes */\(bytes.count)"))
                return refusal
            }
            headers.append(("Content-Range", "bytes \(wanted.lowerBound)-\(wanted.upperBound - 1)/\(bytes.count)"))
            return HTTPResponse(status: 206, headers: headers, body: Array(bytes[wanted]))
        }
        // The body whatever the method: its length is the Content-Length a HEAD or a 304 must
        // announce too (the responder writes no body for either).
        return HTTPResponse(status: 200, headers: headers, body: bytes)
    }

    /// The byte range of a `bytes=` header with one range: `.some(nil)` when it starts past
    /// the end, nil when the header is not one range this answers (several, or malformed:
    /// the whole image then).
    static func singleRange(_ header: String, length: Int) -> Range<Int>?? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).trimming(" \t")
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let (first, last) = (spec[..<dash], spec[spec.index(after: dash)...])
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0 else { return nil }
            return .some(length == 0 ? nil : max(0, length - suffix)..<length)
        }
        guard let start = Int(first), start >= 0 else { return nil }
        guard start < length else { return .some(nil) }
        if last.isEmpty { return .some(start..<length) }
        guard let end = Int(last), end >= start else { return nil }
        // `end` may be Int.max: past the end is the end.
        return .some(start..<(end >= length - 1 ? length : end + 1))
    }

    /// RFC 9110's IMF-fixdate, as nginx writes `Last-Modified`.
    static func httpDate(_ seconds: time_t) -> String {
        var moment = tm()
        var when = seconds
        gmtime_r(&when, &moment)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(moment.tm_wday)]), \(two(moment.tm_mday)) \(months[Int(moment.tm_mon)]) \(moment.tm_year + 1900) "
            + "\(two(moment.tm_hour)):\(two(moment.tm_min)):\(two(moment.tm_sec)) GMT"
    }
}
