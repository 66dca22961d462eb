/// Which of the contract's three upload bodies a `POST /images` carries, from its media type
/// alone: exactly `multipart/form-data` is a form, exactly `application/json` a link to fetch,
/// and any other type (`image/*`, `application/octet-stream`, `multipart/mixed`,
/// `application/jsonx`, or none) raw image bytes.
///
/// Matched as RFC 9110 §8.3.1 says a media type is: type and subtype case-insensitive,
/// parameters after `;`, whitespace around them. A prefix match sent `multipart/related` and
/// `multipart/form-data-x` raw bytes to the form parser, and `application/jsonx` to the JSON one.
enum UploadBodyKind: Equatable {
    case form
    case link
    case raw

    init(contentType: String?) {
        switch HeaderValueScanner.asciiLowercased(HeaderParameters(contentType ?? "").value) {
        case "multipart/form-data": self = .form
        case "application/json": self = .link
        default: self = .raw
        }
    }
}
