import Deflate

/// A reader for the PNGs photographs and screenshots are saved as: 8-bit RGB or RGBA, not
/// interlaced. libdeflate inflates the image data about three times faster than zlib
/// behind libpng (a 2 MP photo: ~45 of libgd's ~60 ms decode was inflate, adler32 and
/// crc32 in zlib 1.2.13).
///
/// It takes only files it can read whole and exactly: every chunk's CRC right, the image
/// data exactly one zlib stream of exactly the rows, every filter byte known, no critical
/// chunk it does not know, no `tRNS`. Anything else (other depths and colour types,
/// interlacing, a damaged or unusual file) returns nil and goes to libpng, which decides:
/// this reader never accepts a file libpng would refuse, nor reads one differently.
public enum PNGReader {
    public struct Pixels: Sendable {
        public let width: Int
        public let height: Int
        /// 3 (R, G, B) or 4 (R, G, B, A, straight alpha).
        public let channels: Int
        /// Rows packed without padding.
        public let bytes: [UInt8]
    }

    /// libpng's default limit on either side (PNG_USER_WIDTH_MAX): wider files are refused
    /// there, so they are not read here.
    static let maximumSide = 1_000_000

    public static func decode(_ png: [UInt8]) -> Pixels? {
        png.withUnsafeBufferPointer { read($0) }
    }

    private static func read(_ png: UnsafeBufferPointer<UInt8>) -> Pixels? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard png.count > 8, png.prefix(8).elementsEqual(signature) else { return nil }
        var at = 8
        var header: (width: Int, height: Int, channels: Int)?
        var data: [UInt8] = []
        var sawData = false, dataEnded = false, sawEnd = false
        while at + 12 <= png.count, !sawEnd {
            let length = Int(bigEndian32(png, at))
            guard length <= png.count - at - 12 else { return nil }
            let type = (png[at + 4], png[at + 5], png[at + 6], png[at + 7])
            let body = at + 8
            let crc = Deflate.crc32(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(png)[at + 4..<at + 8 + length]))
            guard crc == bigEndian32(png, body + length) else { return nil }
            switch type {
            case (0x49, 0x48, 0x44, 0x52):  // IHDR
                guard header == nil, at == 8, length == 13 else { return nil }
                let width = Int(bigEndian32(png, body)), height = Int(bigEndian32(png, body + 4))
                let (depth, colour, method, filter, interlace) = (
                    png[body + 8], png[body + 9], png[body + 10], png[body + 11], png[body + 12]
                )
                guard width > 0, height > 0, width <= maximumSide, height <= maximumSide, depth == 8,
                    colour == 2 || colour == 6, method == 0, filter == 0, interlace == 0
                else { return nil }
                header = (width, height, colour == 6 ? 4 : 3)
            case (0x49, 0x44, 0x41, 0x54):  // IDAT, all in one run
                guard header != nil, !dataEnded else { return nil }
                sawData = true
                data.append(contentsOf: UnsafeBufferPointer(rebasing: png[body..<body + length]))
            case (0x49, 0x45, 0x4E, 0x44):  // IEND
                sawEnd = true
            case (0x74, 0x52, 0x4E, 0x53):  // tRNS: a transparent colour, libpng's to apply
                return nil
            case (0x50, 0x4C, 0x54, 0x45):  // PLTE: only a suggestion in truecolour files
                guard header != nil, !sawData else { return nil }
            default:
                // An unknown critical chunk (upper-case first letter) stops libpng.
                guard header != nil, type.0 & 0x20 != 0 else { return nil }
            }
            if sawData, type != (0x49, 0x44, 0x41, 0x54) { dataEnded = true }
            at = body + length + 4
        }
        guard sawEnd, sawData, let header else { return nil }
        let rowBytes = header.width * header.channels
        let (filteredSize, overflow) = (rowBytes + 1).multipliedReportingOverflow(by: header.height)
        guard !overflow else { return nil }
        guard let filtered = Deflate.zlibDecompressed(data, exactly: filteredSize) else { return nil }
        guard let pixels = unfiltered(filtered, rowBytes: rowBytes, height: header.height, bpp: header.channels) else {
            return nil
        }
        return Pixels(width: header.width, height: header.height, channels: header.channels, bytes: pixels)
    }

    private static func bigEndian32(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// Undoes each row's filter (PNG §9); nil at an unknown filter type.
    private static func unfiltered(_ filtered: [UInt8], rowBytes: Int, height: Int, bpp: Int) -> [UInt8]? {
        var valid = true
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { output, count in
            filtered.withUnsafeBufferPointer { source in
                let out = output.baseAddress!
                for y in 0..<height where valid {
                    let line = source.baseAddress! + y * (rowBytes + 1)
                    let row = out + y * rowBytes
                    let above: UnsafeMutablePointer<UInt8>? = y > 0 ? out + (y - 1) * rowBytes : nil
                    let raw = line + 1
                    switch line[0] {
                    case 0:
                        row.update(from: raw, count: rowBytes)
                    case 1:
                        for i in 0..<rowBytes { row[i] = raw[i] &+ (i >= bpp ? row[i - bpp] : 0) }
                    case 2:
                        for i in 0..<rowBytes { row[i] = raw[i] &+ (above?[i] ?? 0) }
                    case 3:
                        for i in 0..<rowBytes {
                            let left = i >= bpp ? Int(row[i - bpp]) : 0
                            row[i] = raw[i] &+ UInt8((left + Int(above?[i] ?? 0)) >> 1)
                        }
                    case 4:
                        for i in 0..<rowBytes {
                            let a = i >= bpp ? Int(row[i - bpp]) : 0
                            let b = Int(above?[i] ?? 0)
                            let c = i >= bpp ? Int(above?[i - bpp] ?? 0) : 0
                            let p = a + b - c
                            let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                            row[i] = raw[i] &+ UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
                        }
                    default:
                        valid = false
                    }
                }
            }
            count = valid ? rowBytes * height : 0
        }
        return valid ? pixels : nil
    }
}
