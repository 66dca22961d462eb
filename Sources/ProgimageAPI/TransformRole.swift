/// An instance's `TRANSFORM_TYPE`: `api`, `convert`, or the name of a pixel operation.
public struct TransformRole: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let api = TransformRole(uncheckedName: "api")
    public static let convert = TransformRole(uncheckedName: "convert")

    /// Every role, in a stable order: what the supervisor starts and nginx routes to.
    public static let all: [TransformRole] = [.api, .convert] + OperationCatalog.all.map { TransformRole(uncheckedName: $0.name) }

    private init(uncheckedName: String) {
        rawValue = uncheckedName
    }

    public init?(rawValue: String) {
        guard let role = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = role
    }

    public var description: String { rawValue }
}
