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
        try open(png, maximumPixels: maximumPixels, keepingSixteenBits: false) { (reader, width, height) throws(E) -> T? in
            var message = [CChar](repeating: 0, count: 200)
            return try body(width, height) { rows in pg_png_read_rgba_rows(reader, rows, &message) == 0 }
        }
    }

    /// A 16-bit PNG's samples as they are: R,G,B,A in the machine's byte order (alpha 65535
    /// without one), for a colour conversion made before they are cut to 8 bits.
    public struct SixteenBitPixels: Sendable {
        public let width: Int
        public let height: Int
        public let samples: [UInt16]
    }

    /// nil when the file is not 16 bits a sample, libpng refuses it, or it holds more than
    /// `maximumPixels`.
    public static func sixteenBitRGBA(_ png: [UInt8], maximumPixels: Int) -> SixteenBitPixels? {
        open(png, maximumPixels: maximumPixels, keepingSixteenBits: true) { (reader, width, height) -> SixteenBitPixels? in
            guard pg_png_sample_bytes(reader) == 2 else { return nil }
            var message = [CChar](repeating: 0, count: 200)
            var complete = false
            let samples = [UInt16](unsafeUninitializedCapacity: width * height * 4) { buffer, count in
                let base = UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self)
                let rows = (0..<height).map { Optional(base + $0 * width * 8) }
                complete = rows.withUnsafeBufferPointer { pg_png_read_rgba_rows(reader, $0.baseAddress!, &message) == 0 }
                count = complete ? width * height * 4 : 0
            }
            return complete ? SixteenBitPixels(width: width, height: height, samples: samples) : nil
        }
    }

    private static func open<T: ~Copyable, E: Error>(
        _ png: [UInt8], maximumPixels: Int, keepingSixteenBits: Bool,
        _ body: (OpaquePointer, Int, Int) throws(E) -> T?
    ) throws(E) -> T? {
        // Out through variables: the buffer's closure cannot return a noncopyable image.
        var result: T? = nil
        var failure: E?
        png.withUnsafeBufferPointer { buffer in
            var message = [CChar](repeating: 0, count: 200)
            guard let base = buffer.baseAddress, let reader = pg_png_open(base, buffer.count, keepingSixteenBits ? 1 : 0, &message)
            else { return }
            defer { pg_png_close(reader) }
            var width: UInt32 = 0, height: UInt32 = 0
            pg_png_size(reader, &width, &height)
            let (w, h) = (Int(width), Int(height))
            guard w > 0, h > 0, w.multipliedReportingOverflow(by: h).partialValue <= maximumPixels,
                w <= PNGReader.maximumSide, h <= PNGReader.maximumSide
            else { return }
            do throws(E) {
                result = try body(reader, w, h)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return result
    }
}
