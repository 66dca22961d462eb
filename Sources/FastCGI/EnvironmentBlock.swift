#if canImport(Glibc)
import Glibc
#endif

/// A C `NAME=value` array, as FastCGI hands request parameters and as the process
/// environment (`environ`) is laid out, read into a dictionary.
public enum EnvironmentBlock {
    /// The process's environment; bytes that are not UTF-8 become U+FFFD, which the
    /// configuration refuses in a `PROGIMAGE_*` value (a path so read would name another).
    public static func current() -> [String: String] {
        parse(environ, readingOtherBytesAsLatin1: false)
    }

    /// A request's parameters: see `latin1`.
    static func parse(
        _ block: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, readingOtherBytesAsLatin1: Bool = true
    ) -> [String: String] {
        var result: [String: String] = [:]
        guard var cursor = block else { return result }
        while let entry = cursor.pointee {
            let pair = String(validatingCString: entry) ?? (readingOtherBytesAsLatin1 ? latin1(entry) : String(cString: entry))
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }

    /// A value that is not UTF-8 read as ISO-8859-1, as RFC 9110 (§5.5) has a header's
    /// other bytes taken historically, and as a browser sends a header's non-ASCII
    /// characters (`filename="från.png"` from a page's fetch is 0xE5): each byte had become
    /// U+FFFD (a black-box tester). UTF-8 values are read as UTF-8.
    static func latin1(_ entry: UnsafePointer<CChar>) -> String {
        let bytes = UnsafeRawBufferPointer(start: entry, count: strlen(entry))
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
