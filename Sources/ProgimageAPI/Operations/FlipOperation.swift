/// `flip:h`, `flip:v`, `flip:hv` (also spelled `vh`): mirror horizontally, vertically, or both.
public struct FlipOperation: ImageOperation, Equatable {
    public static let name = "flip"
    public let horizontal: Bool
    public let vertical: Bool

    public init(horizontal: Bool, vertical: Bool) {
        (self.horizontal, self.vertical) = (horizontal, vertical)
    }

    public init(arguments: Substring?) throws(ServiceError) {
        switch arguments {
        case "h": (horizontal, vertical) = (true, false)
        case "v": (horizontal, vertical) = (false, true)
        // `vh` is the same flip spelled the other way round: it parses, and its canonical
        // printing (`hv`) differs, so the URL is answered 301 like any other such spelling.
        case "hv", "vh": (horizontal, vertical) = (true, true)
        default: throw Self.invalid("expected flip:h, flip:v or flip:hv")
        }
    }

    public var kind: OperationKind { .flip(self) }

    public var description: String { "flip:" + (horizontal ? "h" : "") + (vertical ? "v" : "") }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize { size }
}
