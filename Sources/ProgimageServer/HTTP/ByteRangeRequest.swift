/// What nginx makes of a `Range` header for a file of `length` bytes (its range filter,
/// 1.22, no `max_ranges`), for the answers an instance makes in nginx's place: one range is
/// a `206` with `Content-Range`, several a `206` of `multipart/byteranges`, none that starts
/// within the file a `416`, and a header it does not take the whole file. An image answered
/// from memory had taken one range only, and `bytes=9-0`, a 416 from the file, as the whole.
enum ByteRangeRequest {
    enum Outcome: Equatable {
        case whole
        case parts([Range<Int>])
        case unsatisfiable
    }

    /// `headers` by lower-case name; `If-Range` compares with `etag` or `lastModified`.
    static func outcome(_ headers: [String: String], etag: String, lastModified: Int, length: Int) -> Outcome {
        guard let header = headers["range"], header.utf8.count >= 7,
            String(decoding: header.utf8.prefix(6), as: UTF8.self).lowercased() == "bytes="
        else { return .whole }
        if let ifRange = headers["if-range"] {
            if ifRange.utf8.count >= 2, ifRange.hasSuffix("\"") {
                guard ifRange == etag else { return .whole }
            } else {
                guard HTTPDate.parse(ifRange) == lastModified else { return .whole }
            }
        }
        return parse(Array(header.utf8.dropFirst(6)), length: length)
    }

    /// nginx's `ngx_http_range_parse` step for step.
    static func parse(_ spec: [UInt8], length: Int) -> Outcome {
        func at(_ index: Int) -> UInt8 { index < spec.count ? spec[index] : 0 }
        func isDigit(_ index: Int) -> Bool { (48...57).contains(at(index)) }
        func skipSpaces(_ p: inout Int) { while at(p) == UInt8(ascii: " ") { p += 1 } }
        /// Digits from `p` on; nil past Int.max (nginx's cutoff).
        func number(_ p: inout Int) -> Int? {
            var value = 0
            while isDigit(p) {
                let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowSum) = times.addingReportingOverflow(Int(at(p) - 48))
                guard !overflowTimes, !overflowSum else { return nil }
                value = sum
                p += 1
            }
            return value
        }
        var ranges: [Range<Int>] = []
        var size = 0
        var p = 0
        while true {
            var start = 0
            var end = 0
            var suffix = false
            skipSpaces(&p)
            var open = false
            if at(p) != UInt8(ascii: "-") {
                guard isDigit(p), let first = number(&p) else { return .unsatisfiable }
                start = first
                skipSpaces(&p)
                guard at(p) == UInt8(ascii: "-") else { return .unsatisfiable }
                p += 1
                skipSpaces(&p)
                if at(p) == UInt8(ascii: ",") || at(p) == 0 {
                    end = length
                    open = true
                }
            } else {
                suffix = true
                p += 1
            }
            if !open {
                guard isDigit(p), let last = number(&p) else { return .unsatisfiable }
                end = last
                skipSpaces(&p)
                guard at(p) == UInt8(ascii: ",") || at(p) == 0 else { return .unsatisfiable }
                if suffix {
                    start = end < length ? length - end : 0
                    end = length - 1
                }
                end = end >= length ? length : end + 1
            }
            if start < end {
                ranges.append(start..<end)
                let (total, overflow) = size.addingReportingOverflow(end - start)
                guard !overflow else { return .unsatisfiable }
                size = total
            } else if start == 0 {
                return .whole
            }
            guard at(p) == UInt8(ascii: ",") else { break }
            p += 1
        }
        if ranges.isEmpty { return .unsatisfiable }
        // Overlapping ranges asking for more than the file: the file.
        if size > length { return .whole }
        return .parts(ranges)
    }
}
