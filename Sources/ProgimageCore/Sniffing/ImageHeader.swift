public import ProgimageAPI

/// An image's stored size, read from its header before any pixel is decoded.
///
/// Decoders allocate from the size they read, so a 50-byte file that claims to be
/// 100000×100000 must be refused from its header: this reader is that gate, and it
/// touches nothing beyond the bytes it is given.
public struct ImageHeader: Equatable, Sendable {
    public let format: ImageFormat
    /// Size as stored in the file, before EXIF orientation or HEIF irot/clap.
    public let width: Int
    public let height: Int

    /// Every format reader ends here, so "no side is zero or negative" holds for all of them.
    init(format: ImageFormat, width: Int, height: Int) throws(ServiceError) {
        guard width > 0, height > 0 else {
            throw ServiceError(
                .corruptImage, "\(format.rawValue): image has a zero or negative side (\(width)×\(height))")
        }
        self.format = format
        self.width = width
        self.height = height
    }

    /// Reads the stored size from the header only, never decoding pixels, so a decompression bomb is refused before anything is allocated.
    /// Throws ServiceError(.corruptImage, "...") when the header is truncated/malformed or a side is 0 / negative.
    public static func read(_ bytes: [UInt8], format: ImageFormat) throws(ServiceError) -> ImageHeader {
        switch format {
        case .jpg: try readJPEG(ByteReader(bytes, label: "jpeg"))
        case .png: try readPNG(ByteReader(bytes, label: "png"))
        case .gif: try readGIF(ByteReader(bytes, label: "gif"))
        case .webp: try readWebP(ByteReader(bytes, label: "webp"))
        case .bmp: try readBMP(ByteReader(bytes, label: "bmp"))
        case .tiff: try readTIFF(ByteReader(bytes, label: "tiff"))
        case .avif, .heic: try HEIFContainer(bytes, label: format.rawValue).header(format: format)
        case .jxl: try readJXL(bytes)
        }
    }
}
