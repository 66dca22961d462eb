/// One pixel operation of a transform URL (`resize:200x`, `grayscale`, …).
///
/// Each operation is a small value type that parses its own argument text and prints
/// its canonical form; `OperationCatalog.all` lists them, and the parser, the instance
/// roles, the nginx routing and the supervisor all derive from that one list.
public protocol ImageOperation: Sendable, CustomStringConvertible {
    /// The segment's name before the colon, and the `TRANSFORM_TYPE` of the instance
    /// that runs chains ending in this operation.
    static var name: String { get }

    /// Parses the text after `name:` (nil when the segment has no colon).
    /// Throws `bad_operation` for anything that is not a valid argument; a valid but
    /// non-canonical spelling parses, and `description` prints the canonical one.
    init(arguments: Substring?) throws(ServiceError)

    /// The size this operation produces from an input of `size`, computed before any
    /// pixel work so limits are enforced without decoding.
    func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize

    /// This operation as its case of the closed `OperationKind`.
    var kind: OperationKind { get }
}

extension ImageOperation {
    /// The canonical segment, e.g. `resize:200x` or `grayscale`.
    public var segment: String { description }

    static func invalid(_ detail: String) -> ServiceError {
        ServiceError(.badOperation, "\(name): \(detail)")
    }
}

/// Width and height in pixels.
public struct ImageSize: Equatable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }
}
