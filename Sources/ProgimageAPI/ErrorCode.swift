/// The stable snake_case words of the contract's error bodies.
///
/// The HTTP status of each code lives in one place (`ErrorCode.status`) so that
/// every layer throws a code and only the response edge turns it into a status.
public enum ErrorCode: String, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case badOperation = "bad_operation"
    case emptyBody = "empty_body"
    case unauthorized
    case badSignature = "bad_signature"
    case forbiddenURL = "forbidden_url"
    /// A free-form transform where only presets are served (`PROGIMAGE_PRESETS_ONLY=1`).
    case presetRequired = "preset_required"
    /// What nginx answers for a path it may not serve (a directory, a file it cannot read).
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case misdirectedRequest = "misdirected_request"
    case payloadTooLarge = "payload_too_large"
    /// An `If-Match` or `If-Unmodified-Since` the file does not meet (nginx's 412).
    case preconditionFailed = "precondition_failed"
    /// A `Range` that starts past the end of the file (nginx's 416).
    case rangeNotSatisfiable = "range_not_satisfiable"
    case unsupportedMediaType = "unsupported_media_type"
    case imageTooLarge = "image_too_large"
    case corruptImage = "corrupt_image"
    case fetchFailed = "fetch_failed"
    case internalError = "internal_error"
    case instanceUnavailable = "instance_unavailable"
    case timeout
    case insufficientStorage = "insufficient_storage"
    /// The database or the object store cannot be reached: retry later.
    case storageUnavailable = "storage_unavailable"

    public var status: Int {
        switch self {
        case .badRequest, .badOperation, .emptyBody: 400
        case .unauthorized: 401
        case .badSignature, .forbiddenURL, .forbidden, .presetRequired: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .preconditionFailed: 412
        case .payloadTooLarge: 413
        case .rangeNotSatisfiable: 416
        case .unsupportedMediaType: 415
        case .misdirectedRequest: 421
        case .imageTooLarge, .corruptImage, .fetchFailed: 422
        case .internalError: 500
        case .instanceUnavailable, .storageUnavailable: 503
        case .timeout: 504
        case .insufficientStorage: 507
        }
    }
}
