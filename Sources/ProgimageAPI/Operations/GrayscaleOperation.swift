/// `grayscale`: luminance only.
public struct GrayscaleOperation: ImageOperation, Equatable {
    public static let name = "grayscale"

    public init() {}

    public init(arguments: Substring?) throws(ServiceError) {
        guard arguments == nil else { throw Self.invalid("takes no argument") }
    }

    public var kind: OperationKind { .grayscale(self) }

    public var description: String { "grayscale" }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize { size }
}
