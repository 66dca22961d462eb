internal import CHeif

/// A libheif call that failed, with libheif's own message (always set, per heif.h).
public struct HEIFError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    /// True for memory or security-limit failures, as opposed to malformed input.
    public let isResourceLimit: Bool

    public var description: String { message }

    init(_ error: heif_error) {
        message = error.message.map { String(cString: $0) } ?? "libheif error \(error.code.rawValue)"
        isResourceLimit = error.code == heif_error_Memory_allocation_error
            || (error.code == heif_error_Invalid_input && error.subcode == heif_suberror_Security_limit_exceeded)
    }

    init(message: String) {
        self.message = message
        isResourceLimit = false
    }

    /// libheif's convention → Swift's: every call returns a `heif_error` whose code is 0 on success.
    static func check(_ error: heif_error) throws(HEIFError) {
        if error.code != heif_error_Ok { throw HEIFError(error) }
    }
}
