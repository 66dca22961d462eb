/// An image's opaque, URL-safe id (`^[A-Za-z0-9_-]{16,64}$`).
///
/// Ids are minted from 12 random bytes (96 bits) as 16 base64url characters; the
/// first four characters shard the on-disk layout (`ab/cd/…`), which the nginx
/// configuration mirrors with the same regular expression.
public struct ImageID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ text: some StringProtocol) {
        guard (16...64).contains(text.utf8.count), text.utf8.allSatisfy(ImageID.isIDByte) else { return nil }
        rawValue = String(text)
    }

    /// The length of a minted id: 12 bytes are 16 base64url characters, no padding.
    public static let mintedLength = 16

    /// A fresh id from the system's random generator, `mintedLength` characters long.
    public static func random() -> ImageID {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<mintedLength / 4 * 3).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return ImageID(Base64URL.encode(bytes))!
    }

    /// The two directory levels an id's files live under, e.g. `["k3", "J9"]`.
    public var shards: (String, String) {
        let chars = Array(rawValue)
        return (String(chars[0...1]), String(chars[2...3]))
    }

    public var description: String { rawValue }

    static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
