import ProgimageAPI

/// The one place where errors become HTTP: a `ServiceError` answers with its code's
/// status and message; a 500's and a storage outage's detail go to the log only.
enum ErrorResponse {
    static func make(_ error: ServiceError, method: String) -> HTTPResponse {
        var headers: [(name: String, value: String)] =
            error.allowedMethods.isEmpty ? [] : [("Allow", error.allowedMethods.joined(separator: ", "))]
        // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted (RFC 6750's Bearer).
        if error.code == .unauthorized { headers.append(("WWW-Authenticate", "Bearer")) }
        headers.append(("Cache-Control", cacheControl(error.code, method: method)))
        // What went wrong inside stays in the log: a 500's detail, and a storage outage's
        // (it named the bucket and the object's key).
        let message: String
        switch error.code {
        case .internalError: message = "internal error"
        // Not "nothing was changed": a database that stopped answering in the middle of a
        // commit may have made the write after all.
        case .storageUnavailable: message = "the storage behind the service is unavailable; try again shortly"
        default: message = error.message
        }
        return .json(
            error.code.status,
            .object([("error", .object([("code", .string(error.code.rawValue)), ("message", .string(message))]))]),
            headers: headers)
    }

    /// What a GET's answer says about the URL alone is as permanent as the URL (ids are
    /// random and never reused; a bad operation stays bad; a source too large stays too
    /// large): a CDN may keep it for a day. Everything else is about this request, this
    /// key or this moment: never stored.
    static func cacheControl(_ code: ErrorCode, method: String) -> String {
        let aboutTheURL = code == .notFound || code == .badOperation || code == .imageTooLarge
        return aboutTheURL && (method == "GET" || method == "HEAD") ? "public, max-age=86400" : "no-store"
    }
}
