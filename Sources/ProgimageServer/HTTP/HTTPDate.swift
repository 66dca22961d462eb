#if canImport(Glibc)
import Glibc
#endif

/// HTTP dates as nginx writes and reads them, for the answers an instance makes in nginx's
/// place (an image the cache had no room for): the same `Last-Modified`, and the same
/// `If-Modified-Since`, `If-Unmodified-Since` and `If-Range` decisions as for a file.
enum HTTPDate {
    /// RFC 9110's IMF-fixdate (`Tue, 08 Dec 2026 01:02:03 GMT`), as nginx writes `Last-Modified`.
    static func format(_ seconds: Int) -> String {
        var moment = tm()
        var when = time_t(seconds)
        gmtime_r(&when, &moment)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(moment.tm_wday)]), \(two(moment.tm_mday)) \(months[Int(moment.tm_mon)]) \(moment.tm_year + 1900) "
            + "\(two(moment.tm_hour)):\(two(moment.tm_min)):\(two(moment.tm_sec)) GMT"
    }

    /// Seconds since the epoch of a date in any of the three forms RFC 9110 has recipients
    /// accept (IMF-fixdate, RFC 850's `Tuesday, 08-Dec-26 …`, asctime's `Tue Dec  8 …
    /// 2026`), or nil: nginx's `ngx_parse_http_time` step for step (1.22), lenient where it is
    /// (the weekday is not checked, nor anything after the seconds or the year), so that an
    /// answer from memory agrees with nginx's answer from the file on every date sent.
    static func parse(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        // nginx reads a NUL-terminated buffer: past the end is 0, which no test accepts.
        func at(_ index: Int) -> UInt8 { index < bytes.count ? bytes[index] : 0 }
        func digit(_ index: Int) -> Int? { (48...57).contains(at(index)) ? Int(at(index) - 48) : nil }
        func digits(_ index: Int, _ count: Int) -> Int? {
            var value = 0
            for offset in 0..<count {
                guard let next = digit(index + offset) else { return nil }
                value = value * 10 + next
            }
            return value
        }
        enum Form { case rfc822, rfc850, asctime }
        var form: Form?
        let end = bytes.count
        var p = 0
        while p < end {
            if bytes[p] == UInt8(ascii: ",") { break }
            if bytes[p] == UInt8(ascii: " ") {
                form = .asctime
                break
            }
            p += 1
        }
        p += 1
        while p < end, bytes[p] == UInt8(ascii: " ") { p += 1 }
        guard end - p >= 18 else { return nil }
        var day = 0
        if form != .asctime {
            guard let value = digits(p, 2) else { return nil }
            day = value
            p += 2
            if at(p) == UInt8(ascii: " ") {
                guard end - p >= 18 else { return nil }
                form = .rfc822
            } else if at(p) == UInt8(ascii: "-") {
                form = .rfc850
            } else {
                return nil
            }
            p += 1
        }
        let month: Int
        switch at(p) {
        case UInt8(ascii: "J"): month = at(p + 1) == UInt8(ascii: "a") ? 0 : at(p + 2) == UInt8(ascii: "n") ? 5 : 6
        case UInt8(ascii: "F"): month = 1
        case UInt8(ascii: "M"): month = at(p + 2) == UInt8(ascii: "r") ? 2 : 4
        case UInt8(ascii: "A"): month = at(p + 1) == UInt8(ascii: "p") ? 3 : 7
        case UInt8(ascii: "S"): month = 8
        case UInt8(ascii: "O"): month = 9
        case UInt8(ascii: "N"): month = 10
        case UInt8(ascii: "D"): month = 11
        default: return nil
        }
        p += 3
        if (form == .rfc822 && at(p) != UInt8(ascii: " ")) || (form == .rfc850 && at(p) != UInt8(ascii: "-")) { return nil }
        p += 1
        var year = 0
        switch form {
        case .rfc822:
            guard let value = digits(p, 4) else { return nil }
            year = value
            p += 4
        case .rfc850:
            guard let value = digits(p, 2) else { return nil }
            year = value + (value < 70 ? 2000 : 1900)
            p += 2
        case .asctime, nil:
            if at(p) == UInt8(ascii: " ") { p += 1 }
            guard let first = digit(p) else { return nil }
            day = first
            p += 1
            if at(p) != UInt8(ascii: " ") {
                guard let second = digit(p) else { return nil }
                day = day * 10 + second
                p += 1
            }
            guard end - p >= 14 else { return nil }
        }
        guard at(p) == UInt8(ascii: " "), let hour = digits(p + 1, 2), at(p + 3) == UInt8(ascii: ":"),
            let minute = digits(p + 4, 2), at(p + 6) == UInt8(ascii: ":"), let second = digits(p + 7, 2)
        else { return nil }
        p += 9
        if form == .asctime {
            guard at(p) == UInt8(ascii: " "), let value = digits(p + 1, 4) else { return nil }
            year = value
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        let monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if day == 29 && month == 1 {
            guard year & 3 == 0, year % 100 != 0 || year % 400 == 0 else { return nil }
        } else if day > monthDays[month] {
            return nil
        }
        // Gauss's formula from March 1, 1 BC, as nginx counts (months from March, 1-based).
        var (m, y) = (month, year)
        m -= 1
        if m <= 0 {
            m += 12
            y -= 1
        }
        let days = 365 * y + y / 4 - y / 100 + y / 400 + 367 * m / 12 - 30 + day - 1 - 719_527 + 31 + 28
        return days * 86400 + hour * 3600 + minute * 60 + second
    }
}
