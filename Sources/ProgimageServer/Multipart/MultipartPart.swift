/// One part of a multipart/form-data body.
///
/// The body is a slice of the request's own buffer: uploads can be tens of megabytes and
/// the image layers take slices, so the parser never copies them.
public struct MultipartPart: Sendable {
    /// The Content-Disposition `name`: the form field.
    public let name: String?
    /// The Content-Disposition filename, `filename*` winning over `filename`; client-supplied
    /// and unsanitised (it may hold path separators), so never use it as a path.
    public let filename: String?
    /// The part's Content-Type header as sent, parameters included.
    public let contentType: String?
    /// Exact bytes, no copy needed.
    public let body: ArraySlice<UInt8>
}
