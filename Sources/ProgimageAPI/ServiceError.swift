/// An error the contract names: a code for programs, a message for people.
///
/// Everything below the response edge throws this (or something the edge maps to
/// `internal_error`); only the edge knows how it becomes JSON and a status.
public struct ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String
    /// For `method_not_allowed`: what the resource does allow (the `Allow` header), OPTIONS
    /// last: every path answers a CORS preflight (nginx does).
    public let allowedMethods: [String]
    /// A write that failed where it may still have taken effect (a commit the database did
    /// not answer): what it wrote beside must not be undone.
    public let outcomeUnknown: Bool

    public init(_ code: ErrorCode, _ message: String, outcomeUnknown: Bool = false) {
        self.code = code
        self.message = message
        allowedMethods = []
        self.outcomeUnknown = outcomeUnknown
    }

    public static func methodNotAllowed(_ method: String, allowed: [String]) -> ServiceError {
        ServiceError(method: method, allowed: allowed)
    }

    private init(method: String, allowed: [String]) {
        code = .methodNotAllowed
        allowedMethods = allowed + ["OPTIONS"]
        message = "\(method) is not allowed here (allowed: \(allowedMethods.joined(separator: ", ")))"
        outcomeUnknown = false
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
