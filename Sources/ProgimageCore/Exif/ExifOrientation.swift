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
        let view = ByteReader(bytes, label: "exif")
        let value: Int?
        switch format {
        case .jpg: value = JPEGExifLocator.orientationValue(in: view)
        case .tiff: value = ExifTIFFStructure.orientationValue(in: view)
        case .png: value = PNGChunks.first("eXIf", in: view).flatMap(ExifTIFFStructure.orientationValue(afterOptionalExifHeader:))
        case .webp: value = webPOrientation(in: view)
        // libheif and libjxl hand their images upright (irot/imir, the codestream's
        // orientation): an Exif tag in those files must not turn them again.
        case .heic, .avif, .gif, .bmp, .jxl: value = nil
        }
        return value.map(ExifOrientation.init(tagValue:)) ?? .up
    }

    /// The `EXIF` chunk's orientation.
    private static func webPOrientation(in file: ByteReader) -> Int? {
        var value: Int?
        RIFFChunks.walk(file) { code, payload in
            guard code.matches("EXIF") else { return false }
            value = ExifTIFFStructure.orientationValue(afterOptionalExifHeader: payload)
            return true
        }
        return value
    }
}
