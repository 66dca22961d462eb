import ProgimageAPI
import LittleCMS
import GD
import HEIF
import JXL
import PNG
import TIFF
import WebP

/// A translucent source's pixels as 8-bit straight R,G,B,A rows, which every operation of
/// a chain keeps so (`ImagePipeline.straightConversion`, `StraightRGBA.applying`) without
/// going through libgd: libgd holds alpha in 7 bits, so every conversion of a translucent
/// image moved half of its alpha levels by one (a translucent PNG to TIFF was not lossless:
/// alpha 128 came out 129). An animated WebP's frames and overlays come as such rows too.
///
/// Read from a PNG with an alpha channel or `tRNS`, a WebP with alpha (an animation's first
/// frame on its canvas), a TIFF, AVIF, HEIC or JPEG XL with alpha, a BMP with an alpha
/// mask, upright; colour-converted to sRGB as every decode is. Whether the file is such is
/// read from its header first, so that no other file is decoded twice.
struct StraightRGBA {
    var pixels: [UInt8]
    let width: Int
    let height: Int

    /// nil when the source is not such a file (the usual path then decodes it, and reports
    /// what is wrong with it). Upright: its EXIF orientation applied, as every decode does.
    static func decoded(_ original: [UInt8], format: ImageFormat, maxPixels: Int) -> StraightRGBA? {
        decodedAsStored(original, format: format, maxPixels: maxPixels)?
            .oriented(ExifOrientation.read(from: original, format: format))
    }

    private static func decodedAsStored(_ original: [UInt8], format: ImageFormat, maxPixels: Int) -> StraightRGBA? {
        if format == .bmp { return bitfieldsBMP(original) }
        guard DeclaredAlphaChannel.isDeclared(in: original, format: format) else { return nil }
        if let deep = try? SixteenBitSource.decoded(original, format: format, maxPixels: maxPixels) {
            return StraightRGBA(pixels: deep.rgba, width: deep.width, height: deep.height)
        }
        var straight: StraightRGBA
        let source: SourceProfile?
        switch format {
        case .png:
            // IHDR: bit depth 8, colour type 6 (RGBA) is what `PNGReader` reads itself, fast;
            // libpng reads the rest (palette or grey with transparency, grey and alpha, 16
            // bits, interlaced) to 8-bit RGBA, where libgd would keep 7 bits of alpha.
            let eightBitRGBA = original.count > 25 && original[24] == 8 && original[25] == 6
            guard let decoded = (eightBitRGBA ? PNGReader.decode(original) : nil)
                ?? LibPNGReader.rgba(original, maximumPixels: maxPixels),
                decoded.channels == 4
            else { return nil }
            straight = StraightRGBA(pixels: decoded.bytes, width: decoded.width, height: decoded.height)
            source = PNGColour.source(of: original)
        case .webp:
            // An animation's first frame on its canvas too, for the outputs that take only
            // that frame (a probe: libgd's 7 bits moved half of its alpha levels by one).
            guard let decoded = try? WebPDecoder.decode(original), decoded.hasAlpha else { return nil }
            straight = StraightRGBA(pixels: decoded.rgba, width: decoded.width, height: decoded.height)
            source = SourceColor.profile(decoded.iccProfile)
        case .tiff:
            guard let decoded = try? TIFFDecoder.decode(original), decoded.hasAlpha, !decoded.isCMYK else { return nil }
            straight = StraightRGBA(pixels: decoded.rgba, width: decoded.width, height: decoded.height)
            source = SourceColor.profile(decoded.iccProfile)
        case .avif, .heic:
            // In sRGB already (its `nclx` or profile), as the usual decode makes it.
            guard let decoded = try? ImageDecoder.decodedHEIF(original), decoded.hasAlpha,
                decoded.stride >= decoded.width * 4
            else { return nil }
            let rowBytes = decoded.width * 4
            var packed = [UInt8]()
            packed.reserveCapacity(rowBytes * decoded.height)
            for y in 0..<decoded.height {
                packed += decoded.bytes[(y * decoded.stride)..<(y * decoded.stride + rowBytes)]
            }
            straight = StraightRGBA(pixels: packed, width: decoded.width, height: decoded.height)
            source = nil
        case .jxl:
            guard let decoded = try? JXLDecoder.decode(original, maxPixels: maxPixels), decoded.hasAlpha else { return nil }
            straight = StraightRGBA(pixels: decoded.rgba, width: decoded.width, height: decoded.height)
            source = SourceColor.profile(decoded.iccProfile)
        default:
            return nil
        }
        guard straight.width > 0, straight.height > 0, straight.pixels.count == straight.width * straight.height * 4
        else { return nil }
        SourceColor.convertRGBA(
            &straight.pixels, width: straight.width, height: straight.height, stride: straight.width * 4, from: source)
        return straight
    }

    /// A BMP with an alpha mask (BI_BITFIELDS, BI_ALPHABITFIELDS), as `BitfieldsBMPDecoder`
    /// reads it; BMPs carry no orientation or colour profile that progimage reads. The
    /// caller checked the stored size against the pixel limit.
    private static func bitfieldsBMP(_ original: [UInt8]) -> StraightRGBA? {
        guard let decoded = try? BitfieldsBMPDecoder.rgbaIfBitfields(original, requiringAlpha: true) else { return nil }
        return StraightRGBA(pixels: decoded.rgba, width: decoded.width, height: decoded.height)
    }

    var isTranslucent: Bool {
        pixels.withUnsafeBufferPointer { buffer in stride(from: 3, to: buffer.count, by: 4).contains { buffer[$0] != 255 } }
    }

    /// Whether every pixel is grey (R = G = B): PNG and TIFF then take grey and alpha.
    var isGrey: Bool {
        pixels.withUnsafeBufferPointer { buffer in
            stride(from: 0, to: buffer.count, by: 4).allSatisfy { buffer[$0] == buffer[$0 + 1] && buffer[$0 + 1] == buffer[$0 + 2] }
        }
    }

    /// Composited onto opaque white, for outputs without alpha (jpg, bmp): each colour
    /// `(c·α + 255·(255 − α)) / 255`, rounded, alpha 255 (`GDImage.flattenedOnWhite`'s, with
    /// alpha in 8 bits where libgd's is in 7: a black alpha ramp came out ±1 on half its levels).
    func flattenedOnWhite() -> StraightRGBA {
        var out = self
        out.pixels.withUnsafeMutableBufferPointer { buffer in
            for i in stride(from: 0, to: buffer.count, by: 4) where buffer[i + 3] != 255 {
                let alpha = Int(buffer[i + 3])
                for c in i..<(i + 3) { buffer[c] = UInt8((Int(buffer[c]) * alpha + 255 * (255 - alpha) + 127) / 255) }
                buffer[i + 3] = 255
            }
        }
        return out
    }

    func row(_ y: Int) -> [UInt8] { Array(pixels[(y * width * 4)..<((y + 1) * width * 4)]) }

    /// Grey and alpha, two bytes a pixel.
    var greyAlpha: [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 2)
        for i in 0..<(width * height) { (out[i * 2], out[i * 2 + 1]) = (pixels[i * 4], pixels[i * 4 + 3]) }
        return out
    }
}

extension StraightRGBA {
    /// libgd's rows as its encoders would write them (exact while opaque; its 7-bit alpha
    /// widened as every encoder widens it).
    init(_ image: borrowing GDImage) {
        self.init(pixels: image.interleaved(alpha: true), width: image.width, height: image.height)
    }
}
