package import ProgimageAPI
package import GD
import HEIF
import JXL
import PNG
import TIFF
import WebP

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

    package static func encode(_ image: consuming GDImage, as format: ImageFormat, quality: Int?) throws(ServiceError) -> [UInt8] {
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
                let rows = InterleavedRows(image)
                return try PNGWriter.encode(
                    rows.pixels, width: rows.width, height: rows.height, channels: PNGWriter.Channels(rawValue: rows.channels)!)
            case .gif: return try image.encode(.gif)
            case .webp:
                // Rows strip by strip into libwebp's planes, and libgd's image freed before
                // the encode: libgd's own path packed a whole-image copy first.
                let alpha = !image.isOpaque
                let picture = try WebPStillEncoder.Picture(width: image.width, height: image.height, hasAlpha: alpha) { y in
                    Self.lossyRow(y, of: image, alpha: true)
                }
                _ = consume image
                return try picture.encoded(quality: quality)
            case .tiff:
                let rows = InterleavedRows(image)
                return try TIFFWriter.encode(rows.pixels, width: rows.width, height: rows.height, channels: rows.channels)
            case .jxl:
                // Rows band by band into tiles (`JXLEncoder`), from libgd's image.
                let alpha = !image.isOpaque
                return try JXLEncoder.encode(width: image.width, height: image.height, hasAlpha: alpha, quality: quality) { y in
                    Self.lossyRow(y, of: image, alpha: alpha)
                }
            case .avif, .heic:
                // Rows straight into libheif's image, and libgd's freed before the encode.
                let alpha = !image.isOpaque
                let picture = try HEIFEncoder.Picture(width: image.width, height: image.height, hasAlpha: alpha) { y in
                    Self.lossyRow(y, of: image, alpha: alpha)
                }
                _ = consume image
                return try picture.encoded(as: format == .avif ? .avif : .heic, quality: quality)
            }
        } catch {
            throw ServiceError(.internalError, "encoding \(format.rawValue) failed: \(error)")
        }
    }
}

extension ImageEncoder {
    /// An R,G,B,A row for a lossy encoder (WebP, JPEG XL, AVIF, HEIC), its fully transparent
    /// pixels' colour made black, as every filter leaves it: lossy coding spreads colour over
    /// a block, and a hidden colour bled into the visible edge. A white logo over hidden
    /// magenta came back 17 levels off at its edge on average in WebP (48 at most), 30 in
    /// AVIF (94), 15 in HEIC (83), Pillow's and libvips's WebP alike (a black-box probe).
    static func invisibleMadeBlack(_ row: consuming [UInt8]) -> [UInt8] {
        for i in stride(from: 0, to: row.count - 3, by: 4) where row[i + 3] == 0 {
            row[i] = 0
            row[i + 1] = 0
            row[i + 2] = 0
        }
        return row
    }

    /// Row `y` of libgd's image for a lossy encoder: R,G,B,A with `invisibleMadeBlack`, or
    /// R,G,B for an opaque image.
    static func lossyRow(_ y: Int, of image: borrowing GDImage, alpha: Bool) -> [UInt8] {
        alpha ? invisibleMadeBlack(image.interleavedRow(y, alpha: true)) : image.interleavedRow(y, alpha: false)
    }

    /// The formats that keep 8-bit alpha, which a plain conversion of straight RGBA
    /// (`StraightRGBA`) can go to without libgd.
    static let straightOutputs: Set<ImageFormat> = [.png, .tiff, .webp, .avif, .heic, .jxl]

    /// Formats without alpha: what is translucent is flattened on white for them.
    static let flattenedOutputs: Set<ImageFormat> = [.jpg, .bmp]

    /// Consumes the rows: the encoders that copy them into a picture of their own (WebP,
    /// AVIF, HEIC) encode after they are freed, as the libgd path does.
    static func encode(_ image: consuming StraightRGBA, as format: ImageFormat, quality: Int?) throws(ServiceError) -> [UInt8] {
        let quality = quality ?? defaultQuality(format)
        let (width, height) = (image.width, image.height)
        do {
            switch format {
            case .png:
                let grey = image.isGrey
                return try PNGWriter.encode(
                    grey ? image.greyAlpha : image.pixels, width: width, height: height, channels: grey ? .greyAlpha : .rgba)
            case .tiff:
                let grey = image.isGrey
                return try TIFFWriter.encode(grey ? image.greyAlpha : image.pixels, width: width, height: height, channels: grey ? 2 : 4)
            case .webp:
                let picture = try WebPStillEncoder.Picture(width: width, height: height, hasAlpha: true) { y in
                    Self.invisibleMadeBlack(image.row(y))
                }
                _ = consume image
                return try picture.encoded(quality: quality)
            case .jxl:
                return try JXLEncoder.encode(width: width, height: height, hasAlpha: true, quality: quality) { y in
                    Self.invisibleMadeBlack(image.row(y))
                }
            case .avif, .heic:
                let picture = try HEIFEncoder.Picture(width: width, height: height, hasAlpha: true) { y in
                    Self.invisibleMadeBlack(image.row(y))
                }
                _ = consume image
                return try picture.encoded(as: format == .avif ? .avif : .heic, quality: quality)
            case .jpg, .bmp, .gif:
                throw ServiceError(.internalError, "\(format.rawValue) does not keep 8-bit alpha")
            }
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.internalError, "encoding \(format.rawValue) failed: \(error)")
        }
    }
}

/// An image's pixels as the PNG and TIFF writers take them: packed 8-bit rows with as few
/// channels as the pixels need (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA). libgd's copy is
/// freed as soon as they are made: the writers hold their own.
struct InterleavedRows {
    let pixels: [UInt8]
    let width: Int
    let height: Int
    let channels: Int

    init(_ image: consuming GDImage) {
        let (grey, opaque) = image.channelUse()
        (width, height) = (image.width, image.height)
        pixels = image.interleaved(alpha: !opaque, grey: grey)
        channels = (grey ? 1 : 3) + (opaque ? 0 : 1)
        _ = consume image
    }
}
