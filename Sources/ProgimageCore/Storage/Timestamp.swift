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
}
