import GD
import ProgimageAPI

/// Decodes BMPs with BI_BITFIELDS / BI_ALPHABITFIELDS compression (16 or 32 bits a pixel
/// with arbitrary channel masks), which libgd 2.3.3 rejects without a message (corpus
/// `rgb16-565.bmp`, `rgb32bf.bmp`), and 16-bit BI_RGB (5-5-5 implied), which libgd expands
/// by shifting alone: white came out 248. Other BMPs go to libgd.
enum BitfieldsBMPDecoder {
    /// nil when the file is not such a BMP.
    static func decodeIfBitfields(_ bytes: [UInt8]) throws(ServiceError) -> GDImage? {
        guard let decoded = try rgbaIfBitfields(bytes) else { return nil }
        do {
            return try GDImage(
                width: decoded.width, height: decoded.height, pixels: decoded.rgba, stride: decoded.width * 4, layout: .rgba)
        } catch {
            throw ServiceError(.internalError, "could not allocate the image")
        }
    }

    /// The pixels as 8-bit R,G,B,A rows (A is 255 without an alpha mask): what
    /// `decodeIfBitfields` hands libgd, whose 7-bit alpha would move half of the levels,
    /// so that a translucent BMP converts exactly (`StraightRGBA`). nil when the file is
    /// not such a BMP, or, `requiringAlpha`, has no alpha mask (known from its header,
    /// before any pixel is read).
    static func rgbaIfBitfields(
        _ bytes: [UInt8], requiringAlpha: Bool = false
    ) throws(ServiceError) -> (rgba: [UInt8], width: Int, height: Int)? {
        let le = LittleEndianFields(bytes)
        let (u16, u32) = (le.u16, le.u32)
        guard let headerSize = u32(14), headerSize >= 40, let compression = u32(30), let bpp = u16(28),
            ((compression == 3 || compression == 6) && (bpp == 16 || bpp == 32)) || (compression == 0 && bpp == 16)
        else { return nil }
        let corrupt = ServiceError(.corruptImage, "the bmp image does not decode completely")
        guard let offset = u32(10), let rawWidth = u32(18), let rawHeight = u32(22) else { throw corrupt }
        let width = Int(Int32(bitPattern: rawWidth))
        let signedHeight = Int(Int32(bitPattern: rawHeight))
        let height = abs(signedHeight)
        guard width > 0, height > 0 else { throw corrupt }
        // Masks follow a 40-byte header, or sit inside a V2+ header at the same offset;
        // BI_RGB's 16 bits are 5-5-5 (the top bit unused).
        let maskBase = 14 + 40
        let (red, green, blue, alpha): (UInt32, UInt32, UInt32, UInt32)
        if compression == 0 {
            (red, green, blue, alpha) = (0x7C00, 0x03E0, 0x001F, 0)
        } else {
            guard let r = u32(maskBase), let g = u32(maskBase + 4), let b = u32(maskBase + 8) else { throw corrupt }
            (red, green, blue) = (r, g, b)
            alpha = (compression == 6 || headerSize >= 56) ? (u32(maskBase + 12) ?? 0) : 0
        }
        if requiringAlpha, alpha == 0 { return nil }

        let stride = (bpp * width + 31) / 32 * 4
        let (total, overflow) = stride.multipliedReportingOverflow(by: height)
        guard !overflow, Int(offset) + total <= bytes.count else { throw corrupt }

        let channels = [Channel(mask: red), Channel(mask: green), Channel(mask: blue), Channel(mask: alpha)]
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for y in 0..<height {
            let sourceRow = Int(offset) + (signedHeight > 0 ? height - 1 - y : y) * stride
            for x in 0..<width {
                let at = sourceRow + x * bpp / 8
                let value = bpp == 16 ? UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 : u32(at)!
                let target = (y * width + x) * 4
                for (index, channel) in channels.enumerated() where channel.mask != 0 {
                    rgba[target + index] = channel.extract(value)
                }
            }
        }
        return (rgba, width, height)
    }

    /// One channel's mask, shift and width, scaled to 8 bits.
    private struct Channel {
        let mask: UInt32
        let shift: UInt32
        let maximum: UInt32

        init(mask: UInt32) {
            self.mask = mask
            shift = mask == 0 ? 0 : UInt32(mask.trailingZeroBitCount)
            maximum = mask == 0 ? 1 : mask >> shift
        }

        func extract(_ value: UInt32) -> UInt8 {
            UInt8(((UInt64((value & mask) >> shift) * 255 + UInt64(maximum) / 2) / UInt64(maximum)) & 0xFF)
        }
    }
}
