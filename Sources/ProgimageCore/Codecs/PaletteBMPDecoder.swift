import GD
import ProgimageAPI

/// Decodes uncompressed 1-, 4- and 8-bit palette BMPs with a BITMAPV5HEADER (124 bytes),
/// whose palette libgd 2.3.3 reads from the wrong offset: bmpsuite `pal8v5.bmp` came out
/// as noise in the right frame (88 levels mean from Pillow's decode). The palette
/// follows the header, whatever its size; V4 and older headers go to libgd, which reads
/// them correctly.
enum PaletteBMPDecoder {
    static func decodeIfV5Palette(_ bytes: [UInt8]) throws(ServiceError) -> GDImage? {
        let le = LittleEndianFields(bytes)
        guard let headerSize = le.u32(14), headerSize == 124, let compression = le.u32(30), compression == 0,
            let bpp = le.u16(28), [1, 4, 8].contains(bpp)
        else { return nil }
        let corrupt = ServiceError(.corruptImage, "the bmp image does not decode completely")
        guard let offset = le.u32(10), let rawWidth = le.u32(18), let rawHeight = le.u32(22), let used = le.u32(46)
        else { throw corrupt }
        let width = Int(Int32(bitPattern: rawWidth))
        let signedHeight = Int(Int32(bitPattern: rawHeight))
        let height = abs(signedHeight)
        let colours = used == 0 ? 1 << bpp : Int(used)
        let palette = 14 + Int(headerSize)
        guard width > 0, height > 0, colours <= 1 << bpp, palette + colours * 4 <= bytes.count else { throw corrupt }

        let stride = (bpp * width + 31) / 32 * 4
        let (total, overflow) = stride.multipliedReportingOverflow(by: height)
        guard !overflow, Int(offset) + total <= bytes.count else { throw corrupt }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sourceRow = Int(offset) + (signedHeight > 0 ? height - 1 - y : y) * stride
            for x in 0..<width {
                let bit = x * bpp
                let byte = bytes[sourceRow + bit / 8]
                let index = Int(byte >> (8 - bpp - bit % 8)) & ((1 << bpp) - 1)
                // An index past the palette is black, as browsers show it.
                guard index < colours else { continue }
                let entry = palette + index * 4  // B, G, R, reserved
                let target = (y * width + x) * 3
                rgb[target] = bytes[entry + 2]
                rgb[target + 1] = bytes[entry + 1]
                rgb[target + 2] = bytes[entry]
            }
        }
        do {
            return try GDImage(width: width, height: height, pixels: rgb, stride: width * 3, layout: .rgb)
        } catch {
            throw ServiceError(.internalError, "could not allocate the image")
        }
    }
}
