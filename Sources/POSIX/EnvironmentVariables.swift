#if canImport(Glibc)
import Glibc
#endif

/// This process's environment as the kernel gave it: `NAME=value` entries, in order.
public enum EnvironmentVariables {
    public static func current() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }
}
