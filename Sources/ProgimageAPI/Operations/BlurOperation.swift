/// `blur:{sigma}`: Gaussian blur, sigma 0.1–50.
public struct BlurOperation: ImageOperation, Equatable {
    public static let name = "blur"
    public let sigma: Double

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments, let value = ArgumentScanner.decimal(arguments), (0.1...50).contains(value) else {
            throw Self.invalid("sigma is a decimal from 0.1 to 50, at most three decimals")
        }
        sigma = value
    }

    public var kind: OperationKind { .blur(self) }

    public var description: String { "blur:\(ArgumentScanner.canonical(sigma))" }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize { size }
}
