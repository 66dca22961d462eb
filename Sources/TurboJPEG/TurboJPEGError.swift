/// A TurboJPEG failure with the library's message (`tjGetErrorStr2`).
public struct TurboJPEGError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The header could not be read or the data is corrupt.
        case corrupt
        /// Valid input this path does not take.
        case unsupported
    }

    public let kind: Kind
    public let message: String

    public var description: String { message }
}
