internal import CJPEG

/// A libjpeg failure, with libjpeg's own message.
public struct JPEGError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not decodable, or image data was lost on the way (a truncated file, a bad
        /// Huffman code, a scan that ended early).
        case corrupt
        /// A valid JPEG this build does not decode (12-bit samples, two components).
        case unsupported
        case outOfMemory
    }

    public let kind: Kind
    public let message: String

    public var description: String { message }

    init(_ status: pg_jpeg_status, _ message: [CChar]) {
        switch status {
        case PG_JPEG_UNSUPPORTED: kind = .unsupported
        case PG_JPEG_OUT_OF_MEMORY: kind = .outOfMemory
        default: kind = .corrupt
        }
        self.message = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
