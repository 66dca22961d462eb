#if canImport(Glibc)
import Glibc
#endif

/// Whole reads and writes on a descriptor, retrying what `read`/`write` may cut short or
/// interrupt (EINTR): the one place those loops are written.
public enum FileDescriptorIO {
    /// Writes all of `bytes`; the error of the call that failed.
    public static func write(_ bytes: [UInt8], to fd: Int32) throws(Errno) {
        var written = 0
        let failure: Errno? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                guard let count = uninterrupted({ Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written) })
                else { return .current }
                written += count
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads to end of file. `expected` (a size from `fstat`) sizes the buffer once, with
    /// one byte more to see the end without growing it; /proc files say 0 and grow it.
    public static func readAll(_ fd: Int32, expected: Int = 0) throws(Errno) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: max(expected + 1, 4096))
        var filled = 0
        while true {
            if filled == result.count { result += [UInt8](repeating: 0, count: result.count) }
            let count = result.withUnsafeMutableBytes { buffer in
                uninterrupted { Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled) }
            }
            guard let count else { throw .current }
            if count == 0 { break }
            filled += count
        }
        result.removeSubrange(filled...)
        return result
    }

    /// `call`'s result once it is not cut short by a signal; nil when it failed otherwise
    /// (`errno` says why).
    private static func uninterrupted(_ call: () -> Int) -> Int? {
        while true {
            let count = call()
            if count >= 0 { return count }
            if errno != EINTR { return nil }
        }
    }
}
