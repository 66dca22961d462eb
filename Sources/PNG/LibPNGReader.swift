internal import CPNG

/// Any PNG libpng reads, as 8-bit straight R,G,B,A rows: palette and `tRNS` transparency,
/// grey with or without alpha, 16-bit samples (their high byte, as libgd reads them),
/// interlaced files. For the translucent files `PNGReader` leaves to libpng, whose alpha
/// libgd would hold in 7 bits.
public enum LibPNGReader {
    /// nil when libpng refuses the file, or it holds more than `maximumPixels`.
    public static func rgba(_ png: [UInt8], maximumPixels: Int) -> PNGReader.Pixels? {
        png.withUnsafeBufferPointer { buffer -> PNGReader.Pixels? in
            var message = [CChar](repeating: 0, count: 200)
            guard let base = buffer.baseAddress, let reader = pg_png_open(base, buffer.count, &message) else { return nil }
            defer { pg_png_close(reader) }
            var width: UInt32 = 0, height: UInt32 = 0
            pg_png_size(reader, &width, &height)
            let (w, h) = (Int(width), Int(height))
            guard w > 0, h > 0, w.multipliedReportingOverflow(by: h).partialValue <= maximumPixels,
                w <= PNGReader.maximumSide, h <= PNGReader.maximumSide
            else { return nil }
            var failed = false
            let bytes = [UInt8](unsafeUninitializedCapacity: w * h * 4) { pixels, count in
                failed = pg_png_read_rgba(reader, pixels.baseAddress!, &message) != 0
                count = failed ? 0 : w * h * 4
            }
            return failed ? nil : PNGReader.Pixels(width: w, height: h, channels: 4, bytes: bytes)
        }
    }
}
