/// `sharpen:{amount}`: unsharp mask, amount 1–100 (a decimal, like blur's sigma).
public struct SharpenOperation: ImageOperation, Equatable {
    public static let name = "sharpen"
    public let amount: Double

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments, let value = ArgumentScanner.decimal(arguments), (1...100).contains(value) else {
            throw Self.invalid("amount is a decimal from 1 to 100, at most three decimals")
        }
        amount = value
    }

    public var kind: OperationKind { .sharpen(self) }

    public var description: String { "sharpen:\(ArgumentScanner.canonical(amount))" }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize { size }
}
