public import ProgimageAPI

/// Why a call failed, typed by what the caller can do about it.
public enum ProgimageClientError: Error, Sendable, CustomStringConvertible {
    /// The service answered with an error: its status, the contract's `code` (nil for a
    /// word this client does not know) and its message.
    case service(status: Int, code: ErrorCode?, message: String)
    /// No answer: connection refused, timed out, DNS.
    case unavailable(String)
    /// An answer this client cannot read (not the contract's JSON).
    case unreadableAnswer(String)
    /// A request this client refuses to make (a file it cannot read, bad operations).
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .service(let status, let code, let message): "\(status) \(code?.rawValue ?? "error"): \(message)"
        case .unavailable(let message): "service unavailable: \(message)"
        case .unreadableAnswer(let message): "unreadable answer: \(message)"
        case .invalidRequest(let message): message
        }
    }
}
