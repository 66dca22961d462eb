import ProgimageAPI
import ProgimageCore

extension ImageRecord {
    /// The contract's image object, keys in its documented order.
    var json: JSONValue {
        .object([
            ("id", .string(id.rawValue)),
            ("filename", .optional(filename)),
            ("format", .string(format.rawValue)),
            ("content_type", .string(format.contentType)),
            ("width", .int(width)),
            ("height", .int(height)),
            ("bytes", .int(bytes)),
            ("sha256", .string(sha256)),
            ("created_at", .string(createdAt)),
            ("url", .string(url)),
            ("frames", .int(frames)),
            ("blurhash", .optional(blurhash)),
        ])
    }
}
