public import ProgimageAPI

/// An image as the service describes it (`GET /images/{id}`, and each upload's answer).
public struct ImageObject: Sendable, Equatable, Codable {
    public let id: String
    public let filename: String?
    public let format: ImageFormat
    public let contentType: String
    public let width: Int
    public let height: Int
    public let bytes: Int
    public let sha256: String
    /// RFC 3339 UTC, as the service wrote it.
    public let createdAt: String
    /// The original's path, relative to the service's base URL.
    public let url: String
    /// A BlurHash (4×3) for a placeholder while the image loads.
    public let blurhash: String?
    /// Frames of an animated GIF or WebP; 1 for a still image (absent from older services).
    public let frames: Int?

    enum CodingKeys: String, CodingKey {
        case id, filename, format, width, height, bytes, sha256, url, blurhash, frames
        case contentType = "content_type"
        case createdAt = "created_at"
    }

    /// As the service writes it: `"filename": null` for an upload without one (the
    /// synthesized encoding left the key out), the optional newer fields only when known.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(filename, forKey: .filename)
        try container.encode(format, forKey: .format)
        try container.encode(contentType, forKey: .contentType)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(url, forKey: .url)
        try container.encodeIfPresent(frames, forKey: .frames)
        try container.encodeIfPresent(blurhash, forKey: .blurhash)
    }
}

/// One page of `GET /images`.
struct ImagePage: Decodable {
    let images: [ImageObject]
    let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case images
        case nextCursor = "next_cursor"
    }
}
