#if canImport(Glibc)
import Glibc
#endif

/// One page of a ListObjectsV2 answer, read for the few elements it needs: each object's
/// `Key` and `LastModified`, `IsTruncated` and `NextContinuationToken`. The store writes
/// this document; keys this service writes need no XML unescaping beyond the five entities.
struct ListingPage {
    var objects: [S3Client.Listed] = []
    var isTruncated = false
    var nextToken: String?

    init(_ xml: String) {
        var rest = xml[...]
        while let open = rest.firstRange(of: "<Contents>"), let close = rest[open.upperBound...].firstRange(of: "</Contents>") {
            let entry = rest[open.upperBound..<close.lowerBound]
            if let key = Self.element("Key", in: entry) {
                // Unreadable: as young as can be, so that `check` never takes it for an orphan.
                let modified = Self.element("LastModified", in: entry).flatMap(Self.epochSeconds) ?? Int.max
                objects.append(S3Client.Listed(key: Self.unescaped(key), modified: modified))
            }
            rest = rest[close.upperBound...]
        }
        isTruncated = Self.element("IsTruncated", in: xml[...]) == "true"
        nextToken = Self.element("NextContinuationToken", in: xml[...]).map(Self.unescaped)
    }

    private static func element(_ name: String, in text: Substring) -> Substring? {
        guard let open = text.firstRange(of: "<\(name)>"), let close = text[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        return text[open.upperBound..<close.lowerBound]
    }

    private static func unescaped(_ text: Substring) -> String {
        String(text).replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
            .replacing("&apos;", with: "'").replacing("&amp;", with: "&")
    }

    /// `2026-12-05T11:00:00.000Z` (ISO 8601, UTC, as S3 writes it).
    static func epochSeconds(_ text: Substring) -> Int? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).prefix(6).compactMap { Int($0) }
        guard digits.count == 6 else { return nil }
        var moment = tm()
        moment.tm_year = Int32(digits[0] - 1900)
        moment.tm_mon = Int32(digits[1] - 1)
        moment.tm_mday = Int32(digits[2])
        moment.tm_hour = Int32(digits[3])
        moment.tm_min = Int32(digits[4])
        moment.tm_sec = Int32(digits[5])
        return Int(timegm(&moment))
    }
}
