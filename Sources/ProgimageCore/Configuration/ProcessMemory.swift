#if canImport(Glibc)
import Glibc
#endif

/// The process's resident memory, for recycling a worker whose RSS only grows
/// (libgd 2.3.3 leaks ~1.2 MB per AVIF encode, libgd #831).
public enum ProcessMemory {
    /// Resident set size in bytes, from `/proc/self/statm`; nil where unreadable.
    public static func residentBytes() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let fields = buffer.prefix(count).split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
