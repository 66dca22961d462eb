import ProgimageAPI

/// The one place where errors become HTTP: a `ServiceError` answers with its code's
/// status and message; anything else is a 500 whose detail goes to the log only.
enum ErrorResponse {
    static func make(_ error: ServiceError) -> HTTPResponse {
        let headers: [(name: String, value: String)] =
            error.allowedMethods.isEmpty ? [] : [("Allow", error.allowedMethods.joined(separator: ", "))]
        let message = error.code == .internalError ? "internal error" : error.message
        return .json(
            error.code.status,
            .object([("error", .object([("code", .string(error.code.rawValue)), ("message", .string(message))]))]),
            headers: headers)
    }
}
