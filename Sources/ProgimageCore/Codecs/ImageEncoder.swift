public import ProgimageAPI
public import GD
import HEIF
import JXL
import PNG
import TIFF

/// Encodes an upright image into an output format. Derived images carry no metadata:
/// every encoder here writes pixels only, so EXIF (and GPS) never leaks.
public enum ImageEncoder {
    /// Defaults where the request gives no `quality`: close to what imgproxy and
    /// Cloudinary's "auto" give for photographs.
    static func defaultQuality(_ format: ImageFormat) -> Int {
        switch format {
        case .jpg: 82
        case .webp: 80
        case .avif: 60
        case .heic: 65
        case .jxl: 80
        default: 0
        }
    }

    public static func encode(_ image: consuming GDImage, as format: ImageFormat, quality: Int?) throws(ServiceError) -> [UInt8] {
        let quality = quality ?? defaultQuality(format)
        do {
            switch format {
            case .jpg:
                let flat = image.flattenedOnWhite()
                // A grey image (grayscale, or a grey source) is written as one component: a
                // 12 MP grayscale took 96 ms as YCbCr, and the file is smaller.
                return try flat.jpegEncoded(quality: quality, grey: flat.isGrey)
            case .bmp: return try image.flattenedOnWhite().encode(.bmp)
            case .png:
                let use = image.channelUse()
                let channels: PNGWriter.Channels = use.grey ? (use.opaque ? .grey : .greyAlpha) : (use.opaque ? .rgb : .rgba)
                let (width, height) = (image.width, image.height)
                let pixels = image.interleaved(alpha: !use.opaque, grey: use.grey)
                _ = consume image  // the encoders below hold copies: free libgd's 4 bytes a pixel first
                return try PNGWriter.encode(pixels, width: width, height: height, channels: channels)
            case .gif: return try image.encode(.gif)
            case .webp: return try image.encode(.webp, quality: quality)
            case .tiff:
                let use = image.channelUse()
                let (width, height) = (image.width, image.height)
                let pixels = image.interleaved(alpha: !use.opaque, grey: use.grey)
                _ = consume image
                return try TIFFWriter.encode(
                    pixels, width: width, height: height, channels: (use.grey ? 1 : 3) + (use.opaque ? 0 : 1))
            case .jxl:
                let alpha = !image.isOpaque
                let (width, height) = (image.width, image.height)
                let pixels = image.interleaved(alpha: alpha)
                _ = consume image
                return try JXLEncoder.encode(rgb: pixels, width: width, height: height, hasAlpha: alpha, quality: quality)
            case .avif, .heic:
                let alpha = !image.isOpaque
                let (width, height) = (image.width, image.height)
                let pixels = image.interleaved(alpha: alpha)
                _ = consume image
                return try HEIFEncoder.encode(
                    rgb: pixels, width: width, height: height, hasAlpha: alpha, codec: format == .avif ? .avif : .heic,
                    quality: quality)
            }
        } catch {
            throw ServiceError(.internalError, "encoding \(format.rawValue) failed: \(error)")
        }
    }
}
