internal import CTIFF

/// Decodes the first page of a TIFF with libtiff directly. libgd 2.3.3's TIFF reader
/// refused old-style JPEG and 32-bit samples, ignored associated alpha (colours came out
/// darkened where translucent) and unassociated alpha's meaning, and lost the ICC profile.
public enum TIFFDecoder {
    public struct Pixels: Sendable {
        public let width: Int
        public let height: Int
        /// R, G, B, A rows, straight alpha, rows in stored order; C, M, Y, K when `isCMYK`.
        public var rgba: [UInt8]
        public var stride: Int { width * 4 }
        public let hasAlpha: Bool
        public let iccProfile: [UInt8]?
        /// The page's own inks, left for its CMYK profile to convert (only read so when the
        /// file has a profile: without one, the naive formula is all there is).
        public var isCMYK = false
    }

    public static func decode(_ bytes: [UInt8]) throws(TIFFError) -> Pixels {
        var message = [CChar](repeating: 0, count: 256)
        return try bytes.withUnsafeBufferPointer { (source) throws(TIFFError) -> Pixels in
            guard let tiff = pg_tiff_open(source.baseAddress, source.count, &message) else { throw TIFFError(message) }
            defer { pg_tiff_close(tiff) }
            var width: UInt32 = 0, height: UInt32 = 0
            pg_tiff_size(tiff, &width, &height)
            guard width > 0, height > 0 else { throw TIFFError(message: "the TIFF has no image size") }
            var profile: UnsafePointer<UInt8>?
            let profileLength = pg_tiff_icc_profile(tiff, &profile)
            let iccProfile = profile.map { Array(UnsafeBufferPointer(start: $0, count: profileLength)) }

            // Zero-filled: a decoder that stops early is refused anyway, but nothing it
            // might have skipped can ever be old heap memory.
            var rgba = [UInt8](repeating: 0, count: Int(width) * Int(height) * 4)
            if iccProfile != nil {
                let inks = rgba.withUnsafeMutableBufferPointer { pg_tiff_read_cmyk(tiff, $0.baseAddress, &message) }
                if inks == 1 || (inks == 0 && pg_tiff_lost_data(tiff, &message) != 0) { throw TIFFError(message) }
                if inks == 0 {
                    var pixels = Pixels(width: Int(width), height: Int(height), rgba: rgba, hasAlpha: false, iccProfile: iccProfile)
                    pixels.isCMYK = true
                    return pixels
                }
            }
            var hasAlpha: Int32 = 0
            let status = rgba.withUnsafeMutableBufferPointer { pg_tiff_read_rgba(tiff, $0.baseAddress, &hasAlpha, &message) }
            if status != 0 {
                // What the RGBA interface refuses: 32-bit float or integer samples.
                var wide = [CChar](repeating: 0, count: 256)
                let wideStatus = rgba.withUnsafeMutableBufferPointer { pg_tiff_read_wide_samples(tiff, $0.baseAddress, &wide) }
                if wideStatus == 2 { throw TIFFError(message) }
                if wideStatus != 0 { throw TIFFError(wide) }
                hasAlpha = 0
            }
            if pg_tiff_lost_data(tiff, &message) != 0 { throw TIFFError(message) }
            return Pixels(
                width: Int(width), height: Int(height), rgba: rgba, hasAlpha: hasAlpha != 0, iccProfile: iccProfile)
        }
    }

    /// A 16-bit RGB page's samples as stored, for a colour conversion made before they are
    /// cut to 8 bits: R,G,B,A in the machine's byte order (alpha 65535 without one), rows
    /// in stored order.
    public struct SixteenBitPixels: Sendable {
        public let width: Int
        public let height: Int
        public let samples: [UInt16]
        public let hasAlpha: Bool
    }

    /// The first page's samples when it is 16-bit RGB with no extra sample or one
    /// unassociated alpha (`pg_tiff_read_rgb16`) and `wanted` says yes to its ICC profile;
    /// nil, having read no pixel, otherwise.
    public static func sixteenBitRGB(_ bytes: [UInt8], wanted: ([UInt8]?) -> Bool) throws(TIFFError) -> SixteenBitPixels? {
        var message = [CChar](repeating: 0, count: 256)
        return try bytes.withUnsafeBufferPointer { (source) throws(TIFFError) -> SixteenBitPixels? in
            guard let tiff = pg_tiff_open(source.baseAddress, source.count, &message) else { throw TIFFError(message) }
            defer { pg_tiff_close(tiff) }
            var width: UInt32 = 0, height: UInt32 = 0
            pg_tiff_size(tiff, &width, &height)
            var profile: UnsafePointer<UInt8>?
            let profileLength = pg_tiff_icc_profile(tiff, &profile)
            guard width > 0, height > 0, pg_tiff_is_rgb16(tiff) != 0,
                wanted(profile.map { Array(UnsafeBufferPointer(start: $0, count: profileLength)) })
            else { return nil }
            var hasAlpha: Int32 = 0
            // Zero-filled, as `decode`'s: nothing a decoder skipped can be old heap memory.
            var samples = [UInt16](repeating: 0, count: Int(width) * Int(height) * 4)
            let status = samples.withUnsafeMutableBufferPointer { pg_tiff_read_rgb16(tiff, $0.baseAddress, &hasAlpha, &message) }
            if status < 0 { return nil }
            if status != 0 || pg_tiff_lost_data(tiff, &message) != 0 { throw TIFFError(message) }
            return SixteenBitPixels(width: Int(width), height: Int(height), samples: samples, hasAlpha: hasAlpha != 0)
        }
    }
}

extension TIFFDecoder {
    /// The number of pages, each after the first checked as far as its layout: its
    /// directory readable, its strips or tiles inside the file. A multi-page file cut short
    /// after its first page still decodes that page completely; this tells it apart. Nil
    /// when the file has more than `limit` pages: each directory is read, and 52 MB hold
    /// hundreds of thousands of small ones.
    public static func checkedPageCount(_ bytes: [UInt8], limit: Int) throws(TIFFError) -> Int? {
        var message = [CChar](repeating: 0, count: 256)
        return try bytes.withUnsafeBufferPointer { source throws(TIFFError) -> Int? in
            guard let tiff = pg_tiff_open_for_pages(source.baseAddress, source.count, &message) else {
                throw TIFFError(message)
            }
            defer { pg_tiff_close(tiff) }
            var pages: UInt32 = 0
            switch pg_tiff_check_later_pages(tiff, UInt32(clamping: max(1, limit)), &pages, &message) {
            case 0: return Int(pages)
            case 2: return nil
            default: throw TIFFError(message)
            }
        }
    }
}

/// A libtiff failure, with libtiff's message.
public struct TIFFError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) { self.message = message }

    init(_ buffer: [CChar]) {
        message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
