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

    /// Reads to end of file, at most `limit` bytes.
    public static func readAll(_ fd: Int32, limit: Int = .max) throws(Errno) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let wanted = min(chunk.count, limit - result.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            if count == 0 { break }
            result += chunk[..<count]
        }
        return result
    }
}
