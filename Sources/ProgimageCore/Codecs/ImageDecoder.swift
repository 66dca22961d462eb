public import ProgimageAPI
package import GD
package import HEIF
import JPEG
import JXL
import LittleCMS
import PNG
import TIFF

/// Turns stored bytes into an upright truecolor image, refusing decompression bombs from
/// the header before any pixel memory is allocated.
///
/// Each format goes to the decoder that does it right on this platform: libjpeg-turbo for
/// JPEG (3× faster than libgd's path, counts its rows, scales in the DCT domain),
/// libheif for HEIF/AVIF (applies clap/irot/imir; libgd's path shears odd widths),
/// libtiff, libwebp, libgd for PNG, GIF and other BMPs, with our own BMP readers where
/// libgd gives up or misreads. What comes out is converted to sRGB where the source says
/// what it is (`SourceColor` lists what it reads).
public enum ImageDecoder {
    /// The source's stored size, from its header only. For HEIF/AVIF that is the primary
    /// item's `ispe`, read by our own box walker; libheif's container parse is the
    /// fallback for layouts the walker does not know.
    public static func storedSize(of bytes: [UInt8], format: ImageFormat) throws(ServiceError) -> ImageSize {
        try storedSize(of: bytes, format: format, container: nil)
    }

    /// The same, from a HEIF/AVIF container already walked.
    private static func storedSize(
        of bytes: [UInt8], format: ImageFormat, container: HEIFContainer?
    ) throws(ServiceError) -> ImageSize {
        do throws(ServiceError) {
            let header =
                if let container { try container.header(format: format) } else { try ImageHeader.read(bytes, format: format) }
            return ImageSize(width: header.width, height: header.height)
        } catch where format == .avif || format == .heic {
            do {
                let size = try HEIFDecoder.primarySize(of: bytes)
                return ImageSize(width: size.width, height: size.height)
            } catch let error as HEIFError where error.isResourceLimit {
                throw ServiceError(.imageTooLarge, "the \(format.rawValue) image exceeds the decoder's size limit")
            } catch {
                throw ServiceError(.corruptImage, "the \(format.rawValue) container is not readable")
            }
        }
    }

    /// Refuses sources over `maxPixels` from their header alone.
    public static func checkPixelLimit(_ size: ImageSize, maxPixels: Int) throws(ServiceError) {
        let (product, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        guard !overflow, product <= maxPixels else {
            throw ServiceError(
                .imageTooLarge, "the image is \(size.width)×\(size.height), over the \(maxPixels)-pixel limit")
        }
    }

    /// Decodes and applies the EXIF orientation. `shrink` (1, 2, 4 or 8) lets JPEG decode
    /// at a fraction of its size when the caller is about to scale down anyway.
    /// `preferringGrey`, for a chain that starts with `grayscale`: a JPEG without a
    /// profile is decoded as its luma only (what the grayscale keeps, without chroma
    /// upsampling or colour conversion: 12 MP grayscale.jpg ~20 ms less). `av1Decoder`:
    /// `.reference` for an upload, which must refuse a damaged AVIF (`HEIFDecoder`).
    package static func decode(
        _ bytes: [UInt8], format: ImageFormat, maxPixels: Int, shrink: Int = 1,
        preferringGrey: Bool = false, av1Decoder: HEIFDecoder.AV1Decoder = .fastest
    ) throws(ServiceError) -> GDImage {
        // A HEIF container is walked once, here, and asked everything before libheif reads it.
        let container = format == .avif || format == .heic ? HEIFContainer(bytes, label: format.rawValue) : nil
        try checkPixelLimit(storedSize(of: bytes, format: format, container: container), maxPixels: maxPixels)
        for picture in try container?.codedPictureSizes() ?? [] { try checkPixelLimit(picture, maxPixels: maxPixels) }
        let image = try decodePixels(
            bytes, format: format, shrink: shrink, grey: preferringGrey, av1Decoder: av1Decoder, container: container)
        return try image.oriented(ExifOrientation.read(from: bytes, format: format))
    }

    /// The thumbnail fast path: an upright JPEG decoded at `1/shrink` in the DCT domain and
    /// resampled straight from the decoder's buffer to `target`, never building the
    /// intermediate libgd image; colour is converted at the DCT-scaled size, before the
    /// resample. nil when it does not apply (EXIF-rotated).
    package static func decodeJPEG(
        _ bytes: [UInt8], maxPixels: Int, shrink: Int, resizedTo target: ImageSize
    ) throws(ServiceError) -> GDImage? {
        guard ExifOrientation.read(from: bytes, format: .jpg) == .up else { return nil }
        let stored = try storedSize(of: bytes, format: .jpg)
        try checkPixelLimit(stored, maxPixels: maxPixels)
        // libjpeg rounds a scaled side up. `shrinkOnLoadFactor` picks factors that leave
        // at least the target, so this only guards against a caller that did not use it,
        // and before the decode rather than after, so such a caller pays for one decode.
        guard target.width <= (stored.width + shrink - 1) / shrink, target.height <= (stored.height + shrink - 1) / shrink
        else { return nil }
        // Without a colour conversion to make, resampled band by band as the rows arrive.
        do {
            if let streamed = try GDImage.decodedJPEG(
                bytes, scaleDenominator: shrink, resizedTo: target.width, target.height)
            {
                return streamed
            }
        } catch {
            throw error.serviceError
        }
        var decoded = try decodeJPEGPixels(bytes, shrink: shrink)
        SourceColor.convert(&decoded)
        do {
            return try GDImage.tentResampled(
                bgrx: decoded.bytes, width: decoded.width, height: decoded.height, stride: decoded.stride,
                toWidth: target.width, toHeight: target.height, extent: dctScaledExtent(of: stored, shrink: shrink))
        } catch {
            throw error.serviceError
        }
    }

    /// `GDImage.dctScaledExtent` of an image of this (upright) size.
    package static func dctScaledExtent(of size: ImageSize, shrink: Int) -> (width: Double, height: Double) {
        GDImage.dctScaledExtent(width: size.width, height: size.height, scale: shrink)
    }

    /// A crop's region of an upright JPEG, decoding nothing outside its rows and columns;
    /// the pixels are exactly those of the same region of a whole decode. nil when it does
    /// not apply (EXIF-rotated: the region would have to be turned into stored coordinates).
    package static func decodeJPEG(
        _ bytes: [UInt8], maxPixels: Int, region: (x: Int, y: Int, width: Int, height: Int)
    ) throws(ServiceError) -> GDImage? {
        guard ExifOrientation.read(from: bytes, format: .jpg) == .up else { return nil }
        try checkPixelLimit(storedSize(of: bytes, format: .jpg), maxPixels: maxPixels)
        var decoded = try decodeJPEGPixels(bytes, shrink: 1, region: region)
        SourceColor.convert(&decoded)
        do {
            return try GDImage(
                width: decoded.width, height: decoded.height, pixels: decoded.bytes, stride: decoded.stride, layout: .bgrx)
        } catch {
            throw error.serviceError
        }
    }

    /// A first reduction of an upright, opaque 8-bit RGB PNG without an ICC profile:
    /// scaled straight from the decoder's rows (`GDImage.scaled(rgb:…)`), the pixels the
    /// whole decode then `scaled` gives. nil when it does not apply.
    package static func decodePNG(
        _ bytes: [UInt8], maxPixels: Int, resizedTo target: ImageSize
    ) throws(ServiceError) -> GDImage? {
        guard ExifOrientation.read(from: bytes, format: .png) == .up, PNGColour.source(of: bytes) == nil else {
            return nil
        }
        try checkPixelLimit(storedSize(of: bytes, format: .png), maxPixels: maxPixels)
        guard let decoded = PNGReader.decode(bytes), decoded.channels == 3 else { return nil }
        do {
            return try GDImage.scaled(
                rgb: decoded.bytes, width: decoded.width, height: decoded.height, toWidth: target.width,
                toHeight: target.height)
        } catch {
            throw error.serviceError
        }
    }

    /// A first blur of an upright JPEG that needs no colour conversion: decoded and blurred
    /// at once, on two threads (see `GDImage.decodedJPEG(_:blurredBy:)`). nil when it does
    /// not apply.
    package static func decodeJPEG(
        _ bytes: [UInt8], maxPixels: Int, blurredBy sigma: Double
    ) throws(ServiceError) -> GDImage? {
        guard ExifOrientation.read(from: bytes, format: .jpg) == .up else { return nil }
        try checkPixelLimit(storedSize(of: bytes, format: .jpg), maxPixels: maxPixels)
        do {
            return try GDImage.decodedJPEG(bytes, blurredBy: sigma)
        } catch {
            throw error.serviceError
        }
    }

    private static func decodePixels(
        _ bytes: [UInt8], format: ImageFormat, shrink: Int, grey: Bool, av1Decoder: HEIFDecoder.AV1Decoder,
        container: HEIFContainer?
    ) throws(ServiceError) -> GDImage {
        do {
            if let deep = try SixteenBitSource.decoded(bytes, format: format, maxPixels: Int.max) {
                return try GDImage(width: deep.width, height: deep.height, pixels: deep.rgba, stride: deep.width * 4, layout: .rgba)
            }
            switch format {
            case .jpg:
                return try decodeJPEG(bytes, shrink: shrink, grey: grey)
            case .avif, .heic:
                let decoded = try decodedHEIF(bytes, av1Decoder: av1Decoder, container: container)
                return try GDImage(
                    width: decoded.width, height: decoded.height, pixels: decoded.bytes, stride: decoded.stride,
                    layout: decoded.hasAlpha ? .rgba : .rgb)
            case .bmp:
                if let feature = ImageHeader.unsupportedBMPFeature(bytes) {
                    throw ServiceError(.corruptImage, "the bmp image uses a feature this service does not decode: \(feature)")
                }
                return try BitfieldsBMPDecoder.decodeIfBitfields(bytes) ?? PaletteBMPDecoder.decodeIfV5Palette(bytes)
                    ?? GDImage.decode(bytes, codec: .bmp)
            case .png:
                // 8-bit RGB(A) through our libdeflate reader; anything else through our libpng
                // reader, which refuses what libgd's did, straight into libgd's rows. libgd's
                // left libpng's warnings to libpng, which printed them to stderr, outside the
                // log: an interlaced file's at every upload and render.
                let image: GDImage
                if let rows = PNGReader.decode(bytes) {
                    image = try GDImage(
                        width: rows.width, height: rows.height, pixels: rows.bytes, stride: rows.width * rows.channels,
                        layout: rows.channels == 4 ? .rgba : .rgb)
                } else if let read = try LibPNGReader.read(bytes, maximumPixels: Int.max, { (width, height, fill) throws(GDError) -> GDImage? in
                    try GDImage.fromRGBARows(width: width, height: height, fill: fill)
                }) {
                    image = read
                } else {
                    throw ServiceError(.corruptImage, "the png image does not decode completely")
                }
                return try SourceColor.converted(image, from: PNGColour.source(of: bytes))
            case .gif: return try decodeGIF(bytes)
            case .jxl:
                var decoded = try JXLDecoder.decode(bytes, maxPixels: Int.max)
                return try image(
                    &decoded.rgba, width: decoded.width, height: decoded.height, icc: decoded.iccProfile)
            case .webp: return try decodeWebP(bytes)
            case .tiff:
                var decoded = try TIFFDecoder.decode(bytes)
                if decoded.isCMYK {
                    // Inks only come back when the file has a profile to convert them with.
                    SourceColor.convertCMYK(
                        &decoded.rgba, width: decoded.width, height: decoded.height, stride: decoded.stride, inverted: false,
                        icc: decoded.iccProfile)
                    return try GDImage(
                        width: decoded.width, height: decoded.height, pixels: decoded.rgba, stride: decoded.stride, layout: .bgrx)
                }
                return try image(
                    &decoded.rgba, width: decoded.width, height: decoded.height, icc: decoded.iccProfile)
            }
        } catch let error as ServiceError {
            throw error
        } catch let error as HEIFError where error.isResourceLimit {
            throw ServiceError(.imageTooLarge, "the \(format.rawValue) image exceeds the decoder's size limit")
        } catch {
            throw ServiceError(.corruptImage, "the \(format.rawValue) image does not decode completely")
        }
    }

    /// An AVIF's or HEIC's primary image as libheif gives it, limited-range monochrome
    /// expanded, in sRGB.
    static func decodedHEIF(
        _ bytes: [UInt8], av1Decoder: HEIFDecoder.AV1Decoder = .fastest, container: HEIFContainer? = nil
    ) throws -> HEIFDecoder.Pixels {
        let container = container ?? HEIFContainer(bytes)
        // libheif 1.15 cannot mirror an image deeper than 8 bits: those are turned here.
        let transforms = container.transforms ?? []
        let turnedHere =
            transforms.contains { if case .mirror = $0 { true } else { false } }
            && (HEIFDecoder.lumaBitDepth(of: bytes) ?? 8) > 8
        if turnedHere, transforms.contains(.cleanAperture) {
            throw ServiceError(
                .corruptImage,
                "the image uses a feature this service does not decode: a mirrored image deeper than 8 bits with a clean aperture")
        }
        // A deep image with colours to convert is converted from its deep samples
        // (`SixteenBitSource`); not one turned here, nor a monochrome one, whose limited
        // range is expanded below (a converted image comes back with no colour to convert).
        // Under the heap pattern: libde265 may leave part of a damaged image unwritten.
        let monochrome = container.isMonochrome
        let convertingDeep = !turnedHere && !monochrome
        var conversion: SRGBConverter.DeepConversion?
        let atDepth = try ProcessMemory.withHeapPattern { () throws -> HEIFDecoder.Decoded in
            try HEIFDecoder.decode(bytes, applyingTransformations: !turnedHere, av1Decoder: av1Decoder) { color in
                conversion = convertingDeep ? SixteenBitSource.deepConversion(of: color) : nil
                return conversion != nil
            }
        }
        var decoded: HEIFDecoder.Pixels
        switch atDepth {
        case .eightBit(let pixels):
            decoded = pixels
        case .sixteenBit(let deep):
            guard let conversion else { throw ServiceError(.internalError, "a deep HEIF decode without its conversion") }
            decoded = SixteenBitSource.converted(deep, conversion)
        }
        if turnedHere, let turned = HEIFTransform.applied(transforms, to: decoded) { decoded = turned }
        if case .nclx(let nclx) = decoded.color, !nclx.fullRange, monochrome {
            LimitedRange.expandGrey(
                &decoded.bytes, width: decoded.width, height: decoded.height, stride: decoded.stride,
                hasAlpha: decoded.hasAlpha)
        }
        SourceColor.convert(&decoded)
        return decoded
    }

    /// Packed straight R,G,B,A rows from a decoder that hands over the file's ICC profile
    /// (WebP, TIFF, JPEG XL), converted to sRGB in place (where the decoder left them).
    static func image(
        _ rgba: inout [UInt8], width: Int, height: Int, icc: [UInt8]?
    ) throws(GDError) -> GDImage {
        SourceColor.convertRGBA(&rgba, width: width, height: height, stride: width * 4, icc: icc)
        return try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
    }

    private static func decodeJPEG(_ bytes: [UInt8], shrink: Int, grey: Bool) throws -> GDImage {
        // Without a colour conversion to make, straight into libgd's rows.
        if !grey {
            do {
                if let direct = try GDImage.decodedJPEG(bytes, scaleDenominator: shrink) { return direct }
            } catch {
                throw error.serviceError
            }
        }
        var decoded = try decodeJPEGPixels(bytes, shrink: shrink, grey: grey)
        SourceColor.convert(&decoded)
        return try GDImage(
            width: decoded.width, height: decoded.height, pixels: decoded.bytes, stride: decoded.stride,
            layout: decoded.layout == .grey ? .grey : .bgrx)
    }

    private static func decodeJPEGPixels(
        _ bytes: [UInt8], shrink: Int, region: (x: Int, y: Int, width: Int, height: Int)? = nil, grey: Bool = false
    ) throws(ServiceError) -> JPEGDecoder.Decoded {
        do {
            return try JPEGDecoder.decode(bytes, scaleDenominator: shrink, region: region, greyWhenUnprofiled: grey)
        } catch {
            switch error.kind {
            case .unsupported: throw .undecodableJPEG(.unsupported("\(error)"))
            case .outOfMemory: throw .undecodableJPEG(.outOfMemory)
            case .corrupt: throw .undecodableJPEG(.corrupt("\(error)"))
            }
        }
    }
}

extension GDImage.JPEGPipelineFailure {
    var serviceError: ServiceError {
        switch self {
        case .decode(let failure): failure.serviceError
        case .encode(let failure): failure.serviceError
        }
    }
}

extension GDImage.JPEGDecodeFailure {
    var serviceError: ServiceError {
        switch self {
        case .unsupported(let message): .undecodableJPEG(.unsupported(message))
        case .outOfMemory: .undecodableJPEG(.outOfMemory)
        case .corrupt(let message): .undecodableJPEG(.corrupt(message))
        }
    }
}

/// Why a JPEG did not decode, whichever decoder said so (TurboJPEG's for whole images,
/// libjpeg's inside the fused GD pipelines): one set of words for the client.
enum JPEGDecodeProblem {
    case unsupported(String)
    case outOfMemory
    case corrupt(String)
}

extension ServiceError {
    static func undecodableJPEG(_ problem: JPEGDecodeProblem) -> ServiceError {
        switch problem {
        case .unsupported(let detail): ServiceError(.corruptImage, "the jpg image uses a feature this service does not decode: \(detail)")
        case .outOfMemory: ServiceError(.imageTooLarge, "the jpg image does not fit in the decoder's memory")
        case .corrupt(let detail): ServiceError(.corruptImage, "the jpg image does not decode completely: \(detail)")
        }
    }
}
