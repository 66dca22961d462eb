/// Why one HTTP exchange produced no answer.
public enum HTTPFetchError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `getaddrinfo` found no address (`gai_strerror`'s text).
    case resolveFailed(host: String, reason: String)
    /// No TCP (or TLS) connection to the pinned address.
    case connectFailed(String)
    /// The time limit passed before the answer was complete.
    case timeout
    /// The body, or its declared `Content-Length`, passed the byte limit; the transfer was
    /// stopped there.
    case tooLarge(limit: Int)
    /// libcurl wanted a socket to an address other than the pinned one; none was opened.
    case addressRefused
    /// Any other libcurl failure (`CURLOPT_ERRORBUFFER`'s text).
    case transferFailed(String)

    public var description: String {
        switch self {
        case .resolveFailed(let host, let reason): "cannot resolve \(host): \(reason)"
        case .connectFailed(let message): "cannot connect: \(message)"
        case .timeout: "timed out"
        case .tooLarge(let limit): "larger than \(limit) bytes"
        case .addressRefused: "connection to an address other than the checked one refused"
        case .transferFailed(let message): message
        }
    }
}
