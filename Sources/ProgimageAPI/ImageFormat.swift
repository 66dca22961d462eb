/// The nine formats the service reads and writes, named by their canonical URL extension.
///
/// The raw value is the extension (`/images/{id}.webp`); aliases (`jpeg`, `tif`) are not
/// cases because the contract answers them with a redirect to the canonical spelling.
public enum ImageFormat: String, CaseIterable, Sendable, Codable {
    case jpg, png, gif, webp, bmp, tiff, avif, heic, jxl

    /// The contract's content-type table (nginx's stock mime.types differs for bmp and heic).
    public var contentType: String {
        switch self {
        case .jpg: "image/jpeg"
        case .png: "image/png"
        case .gif: "image/gif"
        case .webp: "image/webp"
        case .bmp: "image/bmp"
        case .tiff: "image/tiff"
        case .avif: "image/avif"
        case .heic: "image/heic"
        case .jxl: "image/jxl"
        }
    }

    /// Whether the format stores an alpha channel; alpha is composited on white otherwise.
    public var hasAlpha: Bool {
        switch self {
        case .jpg, .bmp: false
        case .png, .gif, .webp, .tiff, .avif, .heic, .jxl: true
        }
    }

    /// Whether `quality:{q}` means anything for this encoder.
    public var acceptsQuality: Bool {
        switch self {
        case .jpg, .webp, .avif, .heic, .jxl: true
        case .png, .gif, .bmp, .tiff: false
        }
    }

    /// The largest side the format can hold (JPEG's 16-bit header less libjpeg's margin,
    /// WebP's 14 bits, AVIF/HEIC as libheif's encoders accept them, JPEG XL's level 5).
    public var maximumSide: Int {
        switch self {
        case .jpg: 65_500
        case .webp: 16_383
        case .gif: 65_535
        case .avif, .heic: 16_384
        // libjxl's level 5 (what every decoder must take): 2^18 a side.
        case .jxl: 262_144
        case .png, .bmp, .tiff: Int(Int32.max)
        }
    }

    /// Extensions that name a format but are not canonical: the contract redirects them.
    public static let aliases: [String: ImageFormat] = ["jpeg": .jpg, "tif": .tiff]

    /// Parses a canonical extension only.
    public init?(extension ext: String) {
        self.init(rawValue: ext)
    }
}
