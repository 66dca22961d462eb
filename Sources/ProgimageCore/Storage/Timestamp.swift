#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock timestamps in the contract's form, `2026-11-22T18:00:00Z`.
public enum Timestamp {
    public static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Seconds since the epoch, for expiry checks.
    public static func unixSeconds() -> Int { Int(time(nil)) }

    /// Seconds since the epoch of a timestamp in the contract's form, nil for another.
    public static func unixSeconds(of text: String) -> Int? {
        let bytes = Array(text.utf8)
        let digitsAt = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        guard bytes.count == 20, digitsAt.allSatisfy({ (48...57).contains(bytes[$0]) }),
            bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58, bytes[19] == 90
        else { return nil }
        func number(_ at: Int, _ count: Int) -> Int32 { bytes[at..<at + count].reduce(0) { $0 * 10 + Int32($1 - 48) } }
        var parts = tm()
        (parts.tm_year, parts.tm_mon, parts.tm_mday) = (number(0, 4) - 1900, number(5, 2) - 1, number(8, 2))
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (number(11, 2), number(14, 2), number(17, 2))
        return Int(timegm(&parts))
    }
}
