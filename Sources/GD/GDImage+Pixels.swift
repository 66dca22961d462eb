internal import CGD

/// Bulk pixel access: the bridge for decoders other than libgd (libjpeg, libheif, libtiff, libwebp) and
/// for encoders that want interleaved bytes. Rows are copied whole, never pixel by pixel
/// through libgd's setters.
extension GDImage {
    /// The byte order of interleaved pixels crossing the module boundary.
    public enum PixelLayout: Sendable {
        /// B, G, R, X: as a little-endian 32-bit word this is gd's 0x__RRGGBB once X is cleared.
        case bgrx
        /// R, G, B, A with 8-bit straight alpha.
        case rgba
        /// R, G, B.
        case rgb
        /// One grey level.
        case grey

        public var bytesPerPixel: Int {
            switch self {
            case .bgrx, .rgba: 4
            case .rgb: 3
            case .grey: 1
            }
        }
    }

    /// Builds an image from interleaved rows.
    public init(width: Int, height: Int, pixels: [UInt8], stride: Int, layout: PixelLayout) throws(GDError) {
        guard width > 0, height > 0, stride >= width * layout.bytesPerPixel,
            pixels.count >= stride * (height - 1) + width * layout.bytesPerPixel,
            let raw = gdImageCreateTrueColor(Int32(width), Int32(height))
        else { throw .allocationFailed }
        self.init(owning: raw, knownOpaque: layout != .rgba)
        pixels.withUnsafeBytes { Self.copy($0, into: raw, width: width, height: height, stride: stride, layout: layout) }
    }

    /// A `width` × `height` image whose rows `fill` writes as 8-bit R,G,B,A (libgd's own
    /// rows, 4 bytes a pixel either way), each pixel then turned into libgd's in place: no
    /// second buffer of the image (a 36 MP palette PNG's decode, read into an array and
    /// copied, peaked at 275 MB, through libgd's own reader 172, this way 138;
    /// `progimage-bench --chain crop:0,0,10,10.png`). nil when `fill` answers false.
    public static func fromRGBARows(
        width: Int, height: Int, fill: (UnsafePointer<UnsafeMutablePointer<UInt8>?>) -> Bool
    ) throws(GDError) -> GDImage? {
        guard width > 0, height > 0, let raw = gdImageCreateTrueColor(Int32(width), Int32(height)) else {
            throw .allocationFailed
        }
        let image = GDImage(owning: raw)
        let rows = cgd_rows(raw)!
        let filled = UnsafeRawPointer(rows).withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: height) {
            fill($0)
        }
        guard filled else { return nil }
        for y in 0..<height {
            let row = rows[y]!
            convertRGBA(UnsafeRawPointer(row), width: width, into: row)
        }
        return image
    }

    /// One row of 8-bit R,G,B,A as libgd's pixels (7-bit alpha, 0 opaque). `target` may be
    /// `source`'s own memory: each pixel is read (raw, as the bytes it is) before its four
    /// bytes are written.
    private static func convertRGBA(_ source: UnsafeRawPointer, width: Int, into target: UnsafeMutablePointer<Int32>) {
        for x in 0..<width {
            let p = source.loadUnaligned(fromByteOffset: x * 4, as: UInt32.self).littleEndian
            let (r, g, b, a) = (Int32(p & 0xFF), Int32(p >> 8 & 0xFF), Int32(p >> 16 & 0xFF), Int32(p >> 24))
            target[x] = (127 - (a >> 1)) << 24 | r << 16 | g << 8 | b
        }
    }

    private static func copy(
        _ pixels: UnsafeRawBufferPointer, into raw: gdImagePtr, width: Int, height: Int, stride: Int, layout: PixelLayout
    ) {
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = rows[y]!
            let source = pixels.baseAddress! + y * stride
            switch layout {
            case .bgrx:
                for x in 0..<width {
                    row[x] = Int32(bitPattern: source.loadUnaligned(fromByteOffset: x * 4, as: UInt32.self) & 0x00FF_FFFF)
                }
            case .rgba:
                convertRGBA(UnsafeRawPointer(source), width: width, into: row)
            case .rgb:
                let bytes = source.assumingMemoryBound(to: UInt8.self)
                for x in 0..<width {
                    let p = bytes + x * 3
                    row[x] = Int32(p[0]) << 16 | Int32(p[1]) << 8 | Int32(p[2])
                }
            case .grey:
                let bytes = source.assumingMemoryBound(to: UInt8.self)
                for x in 0..<width { row[x] = Int32(bytes[x]) * 0x01_0101 }
            }
        }
    }

    /// Interleaved RGBA (or RGB when `alpha` is false; one grey byte for RGB when `grey`,
    /// for an image whose `channelUse` said so), rows packed without padding. gd's 7-bit
    /// alpha widens as libgd's own PNG writer widens it, so outputs read back as before.
    /// Row `y` alone as `interleaved(alpha:)` lays it out (R,G,B or R,G,B,A), for an encoder
    /// that copies rows into its own image: no second whole-image buffer.
    public func interleavedRow(_ y: Int, alpha: Bool) -> [UInt8] {
        let channels = alpha ? 4 : 3
        let row = cgd_rows(raw)![y]!
        return [UInt8](unsafeUninitializedCapacity: width * channels) { buffer, count in
            for x in 0..<width {
                let p = UInt32(bitPattern: row[x])
                buffer[x * channels] = UInt8((p >> 16) & 0xFF)
                buffer[x * channels + 1] = UInt8((p >> 8) & 0xFF)
                buffer[x * channels + 2] = UInt8(p & 0xFF)
                if alpha {
                    let a = (p >> 24) & 0x7F
                    buffer[x * channels + 3] = UInt8(255 - ((a << 1) + (a >> 6)))
                }
            }
            count = width * channels
        }
    }

    public func interleaved(alpha: Bool, grey: Bool = false) -> [UInt8] {
        let (w, h) = (width, height)
        let channels = (grey ? 1 : 3) + (alpha ? 1 : 0)
        let rows = cgd_rows(raw)!
        return [UInt8](unsafeUninitializedCapacity: w * h * channels) { buffer, count in
            var i = 0
            for y in 0..<h {
                let row = rows[y]!
                for x in 0..<w {
                    let p = UInt32(bitPattern: row[x])
                    if grey {
                        buffer[i] = UInt8(p & 0xFF)
                    } else {
                        buffer[i] = UInt8((p >> 16) & 0xFF)
                        buffer[i + 1] = UInt8((p >> 8) & 0xFF)
                        buffer[i + 2] = UInt8(p & 0xFF)
                    }
                    if alpha {
                        let a = (p >> 24) & 0x7F
                        buffer[i + channels - 1] = UInt8(255 - ((a << 1) + (a >> 6)))
                    }
                    i += channels
                }
            }
            count = w * h * channels
        }
    }

    /// Whether every pixel is grey (R = G = B), stopping at the first that is not: a colour
    /// photo answers within its first row.
    public var isGrey: Bool {
        let rows = cgd_rows(raw)!
        for y in 0..<height where !Self.isGreyRow(UnsafeRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self), width: width) {
            return false
        }
        return true
    }

    /// Whether every pixel of a row of libgd pixels has R = G = B.
    static func isGreyRow(_ row: UnsafePointer<UInt32>, width: Int) -> Bool {
        var notGrey: UInt32 = 0
        for x in 0..<width {
            let p = row[x]
            notGrey |= ((p >> 16) ^ p) & 0xFF | ((p >> 8) ^ p) & 0xFF
        }
        return notGrey == 0
    }

    /// Whether every pixel is grey (R = G = B) and whether every pixel is opaque, in one
    /// pass: a PNG of a grey image needs a third of the bytes.
    public func channelUse() -> (grey: Bool, opaque: Bool) {
        let rows = cgd_rows(raw)!
        var grey = true
        var alphaBits: UInt32 = 0
        for y in 0..<height {
            let row = UnsafeRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            var notGrey: UInt32 = 0
            for x in 0..<width {
                let p = row[x]
                alphaBits |= p
                notGrey |= ((p >> 16) ^ p) & 0xFF | ((p >> 8) ^ p) & 0xFF
            }
            if notGrey != 0 { grey = false }
            if !grey, knownOpaque { return (false, true) }
        }
        return (grey, alphaBits & 0x7F00_0000 == 0)
    }

    /// The pixels as packed B,G,R,X rows (libgd's own memory layout, alpha in X), for
    /// encoders that take it directly.
    public func packedBGRX() -> [UInt8] {
        let (w, h) = (width, height)
        let rows = cgd_rows(raw)!
        return [UInt8](unsafeUninitializedCapacity: w * h * 4) { buffer, count in
            for y in 0..<h {
                UnsafeMutableRawPointer(buffer.baseAddress! + y * w * 4).copyMemory(from: rows[y]!, byteCount: w * 4)
            }
            count = w * h * 4
        }
    }

    /// Whether every pixel is fully opaque (gd alpha 0): decides whether an output keeps an
    /// alpha plane and whether the tent resampler applies. Known without a scan for images
    /// decoded without alpha or resampled from one.
    public var isOpaque: Bool {
        if knownOpaque { return true }
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = UnsafeRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            var any: UInt32 = 0
            for x in 0..<width { any |= row[x] }
            if any & 0x7F00_0000 != 0 { return false }
        }
        return true
    }

    /// The packed pixel at (x, y), for tests and sampling.
    public func pixel(x: Int, y: Int) -> UInt32 {
        UInt32(bitPattern: cgd_pixel(raw, Int32(x), Int32(y)))
    }

    /// Composites onto opaque white, for outputs without alpha (jpg, bmp).
    public consuming func flattenedOnWhite() -> GDImage {
        if knownOpaque { return self }
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = rows[y]!
            for x in 0..<width {
                let p = row[x]
                let a = (p >> 24) & 0x7F
                if a == 0 { continue }
                let keep = 127 - a
                func mix(_ c: Int32) -> Int32 { (c * keep + 255 * a + 63) / 127 }
                row[x] = mix((p >> 16) & 0xFF) << 16 | mix((p >> 8) & 0xFF) << 8 | mix(p & 0xFF)
            }
        }
        return self
    }
}
