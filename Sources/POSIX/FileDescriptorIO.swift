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
                let count = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return .current
                }
                written += count
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads to end of file. `expected` (a size from `fstat`) is read straight into one
    /// buffer; anything beyond it, or everything when it is 0, in 4 KB chunks.
    public static func readAll(_ fd: Int32, expected: Int = 0) throws(Errno) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: max(0, expected))
        var filled = 0
        let failure: Errno? = result.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                let count = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    return .current
                }
                if count == 0 { break }
                filled += count
            }
            return nil
        }
        if let failure { throw failure }
        if filled < result.count {
            result.removeSubrange(filled...)
            return result
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            if count == 0 { return result }
            result += chunk[..<count]
        }
    }
}
