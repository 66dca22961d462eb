public import ProgimageAPI

/// multipart/form-data (RFC 7578 on RFC 2046 framing) for image uploads.
///
/// The whole body is already in memory (the server caps its size), so parsing is a single
/// pass of delimiter searches over it and every part body is a slice of the caller's array.
public enum MultipartParser {
    /// The boundary parameter of a Content-Type such as `multipart/form-data; boundary="abc"`;
    /// nil if it is not multipart/form-data or has no boundary.
    public static func boundary(fromContentType contentType: String) -> String? {
        let header = HeaderParameters(contentType)
        guard HeaderValueScanner.asciiLowercased(header.value) == "multipart/form-data",
            let boundary = header["boundary"], !boundary.isEmpty,
            // ASCII only (RFC 2046): a header's other bytes are read as Latin-1, and a
            // boundary so read no longer matched its own bytes in the body, but matched
            // their UTF-8 spelling (a black-box tester).
            boundary.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D && $0 != 0x0A })
        else { return nil }
        return boundary
    }

    /// The filename of a raw upload's `Content-Disposition: attachment; filename="cat.jpg"`,
    /// with the same `filename*` precedence as form parts.
    public static func dispositionFilename(_ headerValue: String) -> String? {
        HeaderParameters(headerValue).filename
    }

    /// Splits a complete body into parts, throwing `.badRequest` on malformed framing (no
    /// opening boundary, missing closing boundary, part without header terminator).
    ///
    /// The preamble and epilogue are ignored; a body with only a close delimiter has no parts,
    /// and deciding whether that is acceptable is the caller's business.
    public static func parse(_ body: [UInt8], boundary: String) throws(ServiceError) -> [MultipartPart] {
        var bytesRead = 0
        return try parse(body, boundary: boundary, bytesRead: &bytesRead)
    }

    /// The same, also telling how many body bytes the delimiter search read.
    static func parse(_ body: [UInt8], boundary: String, bytesRead: inout Int) throws(ServiceError) -> [MultipartPart] {
        guard !boundary.isEmpty, !boundary.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else {
            throw ServiceError(.badRequest, "multipart boundary is empty or spans lines")
        }
        var delimiter = MultipartDelimiter(boundary: boundary)
        defer { bytesRead = delimiter.bytesRead }
        guard var current = delimiter.opening(in: body) else {
            throw ServiceError(.badRequest, "multipart body has no opening boundary")
        }
        var parts: [MultipartPart] = []
        while case .open(let partStart) = current.kind {
            guard let following = delimiter.next(in: body, from: partStart) else {
                throw ServiceError(.badRequest, "multipart body has no closing boundary")
            }
            parts.append(try MultipartPartReader.part(of: body, in: partStart..<following.start))
            current = following
        }
        return parts
    }
}
