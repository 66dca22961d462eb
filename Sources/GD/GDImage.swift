internal import CGD

/// A truecolor libgd image that this value alone owns; `gdImageDestroy` runs exactly once.
///
/// Pixel steps are `consuming`: they hand back the same image when libgd works in place
/// and a new one when it allocates, so no caller above this module can leak or double-free.
/// Pixels are gd's packed `0xAARRGGBB` with 7-bit alpha (0 opaque, 127 transparent).
public struct GDImage: ~Copyable, @unchecked Sendable {
    let raw: gdImagePtr
    /// Set where opacity is known by construction (decoded without alpha, or resampled from
    /// such an image), so the thumbnail path skips a scan and a composite it does not need.
    var knownOpaque = false

    /// Takes ownership of `raw` and sets the state every step assumes: pixels are written
    /// as they are (no blending) and an encoder keeps their alpha.
    init(owning raw: gdImagePtr, knownOpaque: Bool = false) {
        gdImageSaveAlpha(raw, 1)
        gdImageAlphaBlending(raw, 0)
        self.raw = raw
        self.knownOpaque = knownOpaque
    }

    deinit { gdImageDestroy(raw) }

    public var width: Int { Int(raw.pointee.sx) }
    public var height: Int { Int(raw.pointee.sy) }

    /// A new image, fully transparent when `transparent`, else opaque white.
    public init(width: Int, height: Int, transparent: Bool = false) throws(GDError) {
        guard width > 0, height > 0, let raw = gdImageCreateTrueColor(Int32(width), Int32(height)) else {
            throw .allocationFailed
        }
        self.init(owning: raw)
        let fill: Int32 = transparent ? 0x7F00_0000 : 0x00FF_FFFF
        gdImageFilledRectangle(raw, 0, 0, Int32(width) - 1, Int32(height) - 1, fill)
    }

    /// Decodes with libgd and normalizes to truecolor with alpha kept, the one pixel
    /// layout every step above assumes.
    public static func decode(_ bytes: [UInt8], codec: GDCodec) throws(GDError) -> GDImage {
        GDErrorSilencer.install()
        var copy = bytes
        let raw = copy.withUnsafeMutableBytes { buffer -> gdImagePtr? in
            guard let base = buffer.baseAddress, buffer.count <= Int(Int32.max) else { return nil }
            return codec.decode(Int32(buffer.count), base)
        }
        guard let raw else { throw .decodeFailed(codec) }
        // gdImagePaletteToTrueColor sets the same two flags as init(owning:).
        let image = GDImage(owning: raw)
        if cgd_truecolor(raw) == 0 {
            if gdImagePaletteToTrueColor(raw) == 0 { throw .allocationFailed }
            // The conversion gives the transparent index's pixels alpha 127, but keeps its
            // colour as `transparent`, which gdImageCopy (and so gdImageCrop) then skips:
            // a cropped GIF whose transparent entry is black came out opaque black there.
            raw.pointee.transparent = -1
        } else if raw.pointee.transparent >= 0 {
            image.makeTransparentColourTransparent()
        }
        return image
    }

    /// A truecolour file with one transparent colour (PNG colour type 2 with `tRNS`):
    /// libgd keeps the colour aside as `transparent` and the pixels opaque, which only its
    /// own PNG writer honoured; every other output (and our PNG and TIFF writers) showed
    /// those pixels opaque. Here they become transparent pixels, as every reader shows them.
    /// (Not for palette images: there the colour of the transparent index may also be used
    /// by other, opaque indices, and palette conversion already carries each index's alpha.)
    private func makeTransparentColourTransparent() {
        let key = UInt32(bitPattern: raw.pointee.transparent) & 0x00FF_FFFF
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = UnsafeMutableRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width where row[x] & 0x00FF_FFFF == key { row[x] = 0x7F00_0000 | key }
        }
        raw.pointee.transparent = -1
    }

    /// Encodes with libgd; the buffer it allocates is copied out and `gdFree`d before
    /// returning.
    public func encode(_ encoding: GDEncoding, quality: Int? = nil) throws(GDError) -> [UInt8] {
        var size: Int32 = 0
        guard let pointer = encoding.encode(raw, quality: quality, &size), size > 0 else {
            throw .encodeFailed(encoding.rawValue)
        }
        defer { gdFree(pointer) }
        var bytes = Array(UnsafeRawBufferPointer(start: pointer, count: Int(size)))
        if encoding == .bmp { Self.correctBMPSizes(&bytes) }
        return bytes
    }

    /// libgd 2.3.3's BMP writer pads each row to 4 bytes but counts the rows unpadded in
    /// the two size fields: a 17×9 image said 513 bytes for a 522-byte file. The file's
    /// own size goes in `bfSize`, the padded rows in `biSizeImage` (uncompressed rows only).
    private static func correctBMPSizes(_ bmp: inout [UInt8]) {
        guard bmp.count >= 54, bmp[0] == 0x42, bmp[1] == 0x4D else { return }
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bmp[at + $1]) << (8 * $1) } }
        func setU32(_ at: Int, _ value: Int) { for i in 0..<4 { bmp[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
        let width = u32(18), height = Int(Int32(truncatingIfNeeded: u32(22))).magnitude
        let bitsPerPixel = Int(bmp[28]) | Int(bmp[29]) << 8
        setU32(2, bmp.count)
        guard u32(30) == 0, width > 0 else { return }  // BI_RGB: rows as they are
        setU32(34, (width * bitsPerPixel + 31) / 32 * 4 * Int(height))
    }
}
