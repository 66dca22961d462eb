public import ProgimageAPI

/// An image's metadata row: what `GET /images/{id}` answers.
public struct ImageRecord: Sendable, Equatable {
    public let id: ImageID
    /// The uploaded filename, or the link's last path segment; nil for a bare raw upload.
    public let filename: String?
    public let format: ImageFormat
    /// Displayed size: after EXIF orientation and HEIF/AVIF clap/irot/imir.
    public let width: Int
    public let height: Int
    public let bytes: Int
    public let sha256: String
    /// RFC 3339 UTC with seconds, e.g. `2026-11-22T18:00:00Z`.
    public let createdAt: String
    /// Where link ingest fetched it from.
    public let sourceURL: String?
    /// The upright image's BlurHash (4×3), for a placeholder; nil for images stored before
    /// it was computed at upload.
    public let blurhash: String?
    /// Whether some pixel is not opaque: `.auto` picks png over jpg for such images.
    public let hasAlpha: Bool
    /// Frames of an animated GIF or WebP; 1 for a still image.
    public let frames: Int

    public init(
        id: ImageID, filename: String?, format: ImageFormat, width: Int, height: Int, bytes: Int, sha256: String,
        createdAt: String, sourceURL: String? = nil, blurhash: String? = nil, hasAlpha: Bool = false, frames: Int = 1
    ) {
        self.id = id
        self.filename = filename
        self.format = format
        self.width = width
        self.height = height
        self.bytes = bytes
        self.sha256 = sha256
        self.createdAt = createdAt
        self.sourceURL = sourceURL
        self.blurhash = blurhash
        self.hasAlpha = hasAlpha
        self.frames = frames
    }

    /// This record with another `created_at` (the store stamps it as it inserts).
    public func created(at timestamp: String) -> ImageRecord {
        ImageRecord(
            id: id, filename: filename, format: format, width: width, height: height, bytes: bytes, sha256: sha256,
            createdAt: timestamp, sourceURL: sourceURL, blurhash: blurhash, hasAlpha: hasAlpha, frames: frames)
    }

    /// The original's URL path, relative to the service's base URL.
    public var url: String { "/images/\(id).\(format.rawValue)" }
}
