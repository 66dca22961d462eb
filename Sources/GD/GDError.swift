/// A libgd call that failed. libgd reports failure as a NULL image or buffer and prints
/// its reason through `gdSetErrorMethod`, so the only thing a caller learns is which call.
public enum GDError: Error, Equatable, Sendable {
    /// The `gdImageCreateFrom*Ptr` decoder returned NULL: corrupt or unsupported data.
    case decodeFailed(GDCodec)
    /// An encoder returned nothing: libgd's `gdImage*Ptr` (`GDEncoding`), or libjpeg ("jpeg").
    case encodeFailed(String)
    /// `gdImageCreateTrueColor` or a pixel operation could not allocate.
    case allocationFailed
}
