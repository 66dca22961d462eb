internal import CGD
internal import CJPEG

extension GDImage {
    /// A baseline JPEG of these pixels, libgd's rows handed to libjpeg one by one: the
    /// contiguous copy TurboJPEG needed was 48 MB and ~10 ms of every 12 MP JPEG output.
    /// 4:2:0 YCbCr, or one grey component when `grey`; alpha is ignored (flatten first).
    public func jpegEncoded(quality: Int, grey: Bool) throws(GDError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        // gd's rows are `int *`: in memory each pixel is B, G, R, alpha, which libjpeg's
        // JCS_EXT_BGRX reads as it is, ignoring the fourth byte.
        let status = UnsafeRawPointer(cgd_rows(raw)!).withMemoryRebound(
            to: UnsafeMutablePointer<UInt8>?.self, capacity: height
        ) { rows in
            pg_jpeg_encode(rows, Int32(width), Int32(height), Int32(quality), grey ? 1 : 0, &output, &size, &message)
        }
        defer { free(output) }
        guard status == PG_JPEG_OK, let output, size > 0 else { throw .encodeFailed(.jpeg) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
