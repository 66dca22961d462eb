internal import CJPEG
import Glibc

/// Restart markers, which let a JPEG decode in two parts at once (`JPEGRowSource`), and a
/// lossless copy that has them for a file that does not.
public enum JPEGRestarts {
    /// Where the lower part of a two-part decode begins (`pg_jpeg_lower_part_start`); nil
    /// when the file has no restart interval that does.
    static func lowerPartStart(_ source: UnsafeBufferPointer<UInt8>) -> (mcuRow: Int, mcuHeight: Int)? {
        var mcuHeight: Int32 = 0
        let start = Int(pg_jpeg_lower_part_start(source.baseAddress, source.count, &mcuHeight))
        return start > 0 ? (start, Int(mcuHeight)) : nil
    }

    /// Decodes with outputs of at least this many pixels are worth two parts.
    static let partPixels = Int(PG_JPEG_PART_PIXELS)

    /// Whether `bytes` decode in two parts as they are.
    public static func splitInTwo(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { lowerPartStart($0) != nil }
    }

    /// The same picture with a restart marker after every MCU row: the coefficients
    /// re-encoded losslessly (`pg_jpeg_restart_marked`), the markers before the scan kept, so that it
    /// decodes to exactly the pixels `bytes` do, in two parts. nil for what it does not
    /// re-encode (CMYK, 12-bit, a progressive file refined short of its last bit, coefficients no
    /// baseline file holds) and for a file libjpeg finds damaged. 12 MP: ~90 ms.
    public static func restartMarkedCopy(of bytes: [UInt8]) -> [UInt8]? {
        let message = JPEGMessageBuffer()
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = bytes.withUnsafeBufferPointer {
            pg_jpeg_restart_marked($0.baseAddress, $0.count, &output, &size, message.pointer)
        }
        defer { free(output) }
        guard status == PG_JPEG_OK, let output, size > 0 else { return nil }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
