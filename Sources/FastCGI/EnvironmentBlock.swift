#if canImport(Glibc)
import Glibc
#endif

/// A C `NAME=value` array, as FastCGI hands request parameters and as the process
/// environment (`environ`) is laid out, read into a dictionary.
public enum EnvironmentBlock {
    /// The process's environment.
    public static func current() -> [String: String] {
        parse(environ)
    }

    static func parse(_ block: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
        var result: [String: String] = [:]
        guard var cursor = block else { return result }
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}
