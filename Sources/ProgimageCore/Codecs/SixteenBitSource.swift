import HEIF
import JXL
import LittleCMS
import PNG
import ProgimageAPI
import TIFF

/// A 16-bit PNG or TIFF, a lossless JPEG XL of more than 8 bits, or a 10- or 12-bit AVIF
/// or HEIC, whose colours are not sRGB,
/// converted from its deep samples and cut to 8 bits once, at the end. Cutting first and
/// converting the 8-bit numbers moved saturated colours near the gamut's edge by up to 20
/// levels (ProPhoto and Adobe RGB, against LittleCMS's exact double-precision conversion;
/// p99 1–2) where this stays within one. Only where the profile is a matrix/TRC RGB one
/// that converts directly (`SRGBConverter.deepConversion`); other files, and 8-bit ones,
/// are decoded as usual.
struct SixteenBitSource {
    /// Straight R,G,B,A rows, in sRGB.
    let rgba: [UInt8]
    let width: Int
    let height: Int

    /// nil when the file is not such a source, having decoded no pixel; the usual decode
    /// then reads it (and says what is wrong with a damaged one).
    static func decoded(_ original: [UInt8], format: ImageFormat, maxPixels: Int) throws(ServiceError) -> SixteenBitSource? {
        switch format {
        case .png:
            // IHDR's bit depth, at its fixed place (the whole chunk was checked at upload).
            guard original.count > 24, original[24] == 16, let source = PNGColour.source(of: original),
                let conversion = SRGBConverter.deepConversion(from: source),
                let read = LibPNGReader.sixteenBitRGBA(original, maximumPixels: maxPixels)
            else { return nil }
            return converted(read.samples, width: read.width, height: read.height, conversion)
        case .tiff:
            var conversion: SRGBConverter.DeepConversion?
            let read: TIFFDecoder.SixteenBitPixels?
            do {
                read = try TIFFDecoder.sixteenBitRGB(original) { icc in
                    conversion = deepConversion(icc: icc)
                    return conversion != nil
                }
            } catch {
                throw ServiceError(.corruptImage, "the tiff image does not decode completely")
            }
            guard let read, let conversion else { return nil }
            return converted(read.samples, width: read.width, height: read.height, conversion)
        case .jxl:
            var conversion: SRGBConverter.DeepConversion?
            let read: JXLDecoder.SixteenBitPixels?
            do {
                read = try JXLDecoder.decodeSixteenBit(original, maxPixels: maxPixels) { icc in
                    conversion = deepConversion(icc: icc)
                    return conversion != nil
                }
            } catch .tooLarge {
                throw ServiceError(.imageTooLarge, "the jxl image exceeds the pixel limit")
            } catch {
                throw ServiceError(.corruptImage, "the jxl image does not decode completely")
            }
            guard let read, let conversion else { return nil }
            return converted(read.samples, width: read.width, height: read.height, conversion)
        default:
            return nil
        }
    }

    /// The deep conversion a 10- or 12-bit AVIF or HEIC calls for: nil for sRGB, or a
    /// colour description (`nclx` or ICC) that does not convert directly; the image is then
    /// decoded to 8 bits as usual. Asked by `HEIFDecoder.decode(_:deepWhen:)` in the open
    /// that decodes (a first open only to read the depth and colour had parsed every AVIF
    /// and HEIC twice).
    static func deepConversion(of color: HEIFDecoder.ColorDescription?) -> SRGBConverter.DeepConversion? {
        color.flatMap(SourceColor.sourceProfile).flatMap(SRGBConverter.deepConversion(from:))
    }

    /// A deep AVIF or HEIC converted and cut to 8 bits: rows as `ImageDecoder.decodedHEIF`
    /// hands them on (`color` nil: already sRGB).
    static func converted(_ deep: HEIFDecoder.SixteenBitPixels, _ conversion: SRGBConverter.DeepConversion) -> HEIFDecoder.Pixels {
        let channels = deep.hasAlpha ? 4 : 3
        let pixels = deep.samples.withUnsafeBufferPointer {
            conversion.pixels($0, channels: 4, count: deep.width * deep.height, keepingAlpha: deep.hasAlpha)
        }
        return HEIFDecoder.Pixels(
            width: deep.width, height: deep.height, hasAlpha: deep.hasAlpha, stride: deep.width * channels, bytes: pixels,
            color: nil)
    }

    /// The deep conversion from a file's ICC profile, when there is one to make.
    private static func deepConversion(icc: [UInt8]?) -> SRGBConverter.DeepConversion? {
        SourceColor.profile(icc).flatMap(SRGBConverter.deepConversion(from:))
    }

    private static func converted(
        _ samples: [UInt16], width: Int, height: Int, _ conversion: SRGBConverter.DeepConversion
    ) -> SixteenBitSource {
        let rgba = samples.withUnsafeBufferPointer { conversion.pixels($0, channels: 4, count: width * height) }
        return SixteenBitSource(rgba: rgba, width: width, height: height)
    }
}
