internal import CPNG

/// Any PNG libpng reads, as 8-bit straight R,G,B,A rows: palette and `tRNS` transparency,
/// grey with or without alpha, 16-bit samples (their high byte, as libgd reads them),
/// interlaced files. For the translucent files `PNGReader` leaves to libpng, whose alpha
/// libgd would hold in 7 bits.
public enum LibPNGReader {
    /// nil when libpng refuses the file, or it holds more than `maximumPixels`.
    public static func rgba(_ png: [UInt8], maximumPixels: Int) -> PNGReader.Pixels? {
        read(png, maximumPixels: maximumPixels) { (width, height, fill) -> PNGReader.Pixels? in
            var failed = false
            let bytes = [UInt8](unsafeUninitializedCapacity: width * height * 4) { pixels, count in
                let rows = (0..<height).map { Optional(pixels.baseAddress! + $0 * width * 4) }
                failed = !rows.withUnsafeBufferPointer { fill($0.baseAddress!) }
                count = failed ? 0 : width * height * 4
            }
            return failed ? nil : PNGReader.Pixels(width: width, height: height, channels: 4, bytes: bytes)
        }
    }

    /// The same pixels into rows the caller allocates once the size is known: `body` gets
    /// the width, the height and a reader it calls with the rows (4 bytes a pixel each),
    /// which answers whether every row was written. nil when libpng refuses the header or
    /// the file holds more than `maximumPixels`.
    public static func read<T: ~Copyable, E: Error>(
        _ png: [UInt8], maximumPixels: Int,
        _ body: (Int, Int, (UnsafePointer<UnsafeMutablePointer<UInt8>?>) -> Bool) throws(E) -> T?
    ) throws(E) -> T? {
        // Out through variables: the buffer's closure cannot return a noncopyable image.
        var result: T? = nil
        var failure: E?
        png.withUnsafeBufferPointer { buffer in
            var message = [CChar](repeating: 0, count: 200)
            guard let base = buffer.baseAddress, let reader = pg_png_open(base, buffer.count, &message) else { return }
            defer { pg_png_close(reader) }
            var width: UInt32 = 0, height: UInt32 = 0
            pg_png_size(reader, &width, &height)
            let (w, h) = (Int(width), Int(height))
            guard w > 0, h > 0, w.multipliedReportingOverflow(by: h).partialValue <= maximumPixels,
                w <= PNGReader.maximumSide, h <= PNGReader.maximumSide
            else { return }
            do throws(E) {
                result = try body(w, h) { rows in pg_png_read_rgba_rows(reader, rows, &message) == 0 }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return result
    }
}
