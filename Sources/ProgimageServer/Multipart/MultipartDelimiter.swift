/// Finds the delimiter lines (`CRLF--boundary`) that separate parts.
///
/// Bodies are images of up to tens of megabytes, so the search is Horspool's bad-character
/// skip over an unsafe buffer, which leaves most bytes unread. Windows are compared forward
/// from the pattern's leading CRLF rather than backward: since a boundary holds no CR or LF,
/// the prefixes matched by successive windows cannot overlap, which keeps the worst case
/// linear even for a hostile boundary such as `aaaa…` over a body of `a`s.
struct MultipartDelimiter {
    enum Kind: Equatable {
        /// A part follows, starting at this index.
        case open(partStart: Int)
        case close
    }

    struct Match {
        /// Where the preceding part's body ends: the CR of the delimiter's CRLF.
        let start: Int
        let kind: Kind
    }

    /// `--boundary`, as it appears at the very start of a body with no preamble.
    private let dashBoundary: [UInt8]
    /// `CRLF--boundary`: a part's body ends just before it.
    private let pattern: [UInt8]
    private let shifts: [Int]
    /// Body bytes the search has read so far: what keeps it linear is checked by counting
    /// this (MultipartLargeBodyTests), not by timing it.
    private(set) var bytesRead = 0

    /// `boundary` must not contain CR or LF; the linear-time argument above depends on it.
    init(boundary: String) {
        dashBoundary = Array("--\(boundary)".utf8)
        pattern = [0x0D, 0x0A] + dashBoundary
        var shifts = [Int](repeating: pattern.count, count: 256)
        for (index, byte) in pattern.dropLast().enumerated() {
            shifts[Int(byte)] = pattern.count - 1 - index
        }
        self.shifts = shifts
    }

    /// The opening delimiter: either at offset 0 or the first delimiter line after a preamble.
    mutating func opening(in body: [UInt8]) -> Match? {
        if body.starts(with: dashBoundary), let kind = classify(body, after: dashBoundary.count) {
            return Match(start: 0, kind: kind)
        }
        return next(in: body, from: 0)
    }

    /// The next real delimiter at or after `start`. A lookalike such as `--boundaryX` inside
    /// a body is skipped rather than rejected, matching what browsers' own parsers accept.
    mutating func next(in body: [UInt8], from start: Int) -> Match? {
        var from = start
        while let index = firstIndex(in: body, from: from) {
            if let kind = classify(body, after: index + pattern.count) {
                return Match(start: index, kind: kind)
            }
            from = index + 1
        }
        return nil
    }

    /// After the boundary: `--` closes; otherwise optional transport padding (RFC 2046 LWSP),
    /// then CRLF, or a bare LF from lenient clients.
    private func classify(_ body: [UInt8], after end: Int) -> Kind? {
        var index = end
        if index + 1 < body.count, body[index] == dash, body[index + 1] == dash { return .close }
        while index < body.count, body[index] == 0x20 || body[index] == 0x09 { index += 1 }
        if index + 1 < body.count, body[index] == 0x0D, body[index + 1] == 0x0A { return .open(partStart: index + 2) }
        if index < body.count, body[index] == 0x0A { return .open(partStart: index + 1) }
        return nil
    }

    private mutating func firstIndex(in body: [UInt8], from start: Int) -> Int? {
        let length = pattern.count
        guard start >= 0, start <= body.count - length else { return nil }
        var read = 0
        defer { bytesRead += read }
        // Spans: bounds-checked like the arrays, without their per-access retain and
        // uniqueness checks in this loop.
        let haystack = body.span, needle = pattern.span, shifts = shifts.span
        let last = length - 1
        let lastByte = needle[last]
        let limit = haystack.count - length
        var position = start
        while position <= limit {
            let byte = haystack[position + last]
            read += 1
            if byte == lastByte {
                var offset = 0
                while offset < last, haystack[position + offset] == needle[offset] { offset += 1 }
                read += offset + 1
                if offset == last { return position }
            }
            position += shifts[Int(byte)]
        }
        return nil
    }
}

private let dash = UInt8(ascii: "-")
