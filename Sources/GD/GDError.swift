/// A libgd call that failed. libgd reports failure as a NULL image or buffer and prints
/// its reason through `gdSetErrorMethod`, so the only thing a caller learns is which call.
public enum GDError: Error, Equatable, Sendable {
    /// The `gdImageCreateFrom*Ptr` decoder returned NULL: corrupt or unsupported data.
    case decodeFailed(GDCodec)
    /// The `gdImage*Ptr` encoder returned NULL.
    case encodeFailed(GDCodec)
    /// `gdImageCreateTrueColor` or a pixel operation could not allocate.
    case allocationFailed
}
