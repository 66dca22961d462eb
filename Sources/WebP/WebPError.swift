/// A WebP that libwebp could not take whole. libwebp reports failure as a NULL object or a
/// zero return, without a reason, so the case says which step refused.
public enum WebPError: Error, Equatable, Sendable {
    /// The demuxer did not reach the end of the file: cut short, possibly in a later frame
    /// that a first-frame decode would never read.
    case incomplete
    /// The container does not parse or the first frame's bitstream does not decode.
    case corrupt
    /// The encoder or the muxer refused a frame or the assembly (libwebp's
    /// `WebPEncodingError` or `WebPMuxError`, as a number).
    case encodeFailed(Int)
    /// The library's ABI differs from the headers this module was built against.
    case versionMismatch
}
