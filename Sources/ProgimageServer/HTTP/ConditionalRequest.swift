/// What nginx decides for a file from a request's conditional headers (its not_modified
/// filter, 1.22, with the site's `if_modified_since before`), for the answers an instance
/// makes in nginx's place: nginx applies none of it to an upstream's answer it does not
/// cache, so an image answered from memory had honoured `If-None-Match` alone (a black-box
/// tester: `If-Match`, `If-Unmodified-Since` and a later `If-Modified-Since` got 200s
/// where the same image from disk got 412s and a 304).
enum ConditionalRequest {
    enum Outcome: Equatable {
        case send
        case notModified
        case preconditionFailed
    }

    /// `headers` by lower-case name; `lastModified` in seconds since the epoch.
    static func outcome(_ headers: [String: String], etag: String, lastModified: Int) -> Outcome {
        if let sent = headers["if-unmodified-since"] {
            // An unreadable date fails the precondition, as nginx's -1 does.
            guard let date = HTTPDate.parse(sent), date >= lastModified else { return .preconditionFailed }
        }
        if let list = headers["if-match"], !matches(list, etag: etag, weak: false) { return .preconditionFailed }
        let modifiedSince = headers["if-modified-since"]
        let noneMatch = headers["if-none-match"]
        guard modifiedSince != nil || noneMatch != nil else { return .send }
        if let modifiedSince {
            // `before`: not modified when the file is not newer than the date; an unreadable
            // date is older than any file.
            guard let date = HTTPDate.parse(modifiedSince), date >= lastModified else { return .send }
        }
        if let noneMatch, !matches(noneMatch, etag: etag, weak: true) { return .send }
        return .notModified
    }

    /// Whether an `If-Match` / `If-None-Match` list names `etag` (`*` names any): nginx's
    /// `ngx_http_test_if_match`, which compares each entry's start with the tag and takes it
    /// when only blanks follow before the next comma; `weak` ignores `W/` on either side.
    static func matches(_ list: String, etag: String, weak: Bool) -> Bool {
        let list = Array(list.utf8)
        if list == [UInt8(ascii: "*")] { return true }
        var tag = Array(etag.utf8)
        if weak, tag.count > 2, tag[0] == UInt8(ascii: "W"), tag[1] == UInt8(ascii: "/") { tag.removeFirst(2) }
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0
        let end = list.count
        while start < end {
            if weak, end - start > 2, list[start] == UInt8(ascii: "W"), list[start + 1] == UInt8(ascii: "/") { start += 2 }
            if tag.count > end - start { return false }
            if list[start..<start + tag.count].elementsEqual(tag) {
                var after = start + tag.count
                while after < end, isBlank(list[after]) { after += 1 }
                if after == end || list[after] == UInt8(ascii: ",") { return true }
                start = after
            }
            while start < end, list[start] != UInt8(ascii: ",") { start += 1 }
            while start < end, isBlank(list[start]) || list[start] == UInt8(ascii: ",") { start += 1 }
        }
        return false
    }
}
