public import ProgimageAPI

/// The eight EXIF orientations (TIFF tag 0x0112). Value 0 or anything out of range means .up.
///
/// Only the containers that carry EXIF as a TIFF structure are read here; HEIC and AVIF
/// describe rotation with `irot`/`imir` boxes instead, so they always answer `.up` and
/// their transform is applied by the HEIF layer.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored = 2, down = 3, downMirrored = 4, leftMirrored = 5, right = 6, rightMirrored = 7, left = 8

    /// Maps a raw tag value, treating 0 and out-of-range values as `.up` as viewers do,
    /// so a bogus tag never rotates an image.
    public init(tagValue: Int) {
        self = ExifOrientation(rawValue: tagValue) ?? .up
    }

    /// Whether displaying swaps width and height (5–8).
    public var swapsSides: Bool {
        switch self {
        case .up, .upMirrored, .down, .downMirrored: false
        case .leftMirrored, .right, .rightMirrored, .left: true
        }
    }

    /// Reads the orientation from an image's embedded EXIF. Never throws: malformed EXIF means .up.
    public static func read(from bytes: [UInt8], format: ImageFormat) -> ExifOrientation {
        read(from: bytes[...], format: format)
    }

    /// The slice form lets upload paths read a multipart part's body without copying it.
    public static func read(from bytes: ArraySlice<UInt8>, format: ImageFormat) -> ExifOrientation {
        let view = ExifBytes(bytes)
        let value: Int?
        switch format {
        case .jpg: value = JPEGExifLocator.orientationValue(in: view)
        case .tiff: value = ExifTIFFStructure.orientationValue(in: view)
        case .png: value = PNGChunkLocator.orientationValue(in: view)
        case .webp: value = WebPExifLocator.orientationValue(in: view)
        // libheif and libjxl hand their images upright (irot/imir, the codestream's
        // orientation): an Exif tag in those files must not turn them again.
        case .heic, .avif, .gif, .bmp, .jxl: value = nil
        }
        return value.map(ExifOrientation.init(tagValue:)) ?? .up
    }
}
