import ProgimageAPI

/// Turns the bytes between two delimiters into a part: header lines, a blank line, a body.
///
/// Header lines may end in a bare LF because some hand-written clients send them; the body
/// is never reinterpreted, so that leniency cannot alter image bytes.
enum MultipartPartReader {
    static func part(of body: [UInt8], in content: Range<Int>) throws(ServiceError) -> MultipartPart {
        // RFC 2046 allows a part with neither headers nor body; it is simply empty.
        if content.isEmpty {
            return MultipartPart(name: nil, filename: nil, contentType: nil, body: body[content])
        }
        var headers = MultipartHeaderLines()
        var lineStart = content.lowerBound
        while true {
            guard let lineFeed = body[lineStart..<content.upperBound].firstIndex(of: 0x0A) else {
                throw ServiceError(.badRequest, "multipart part has no blank line after its headers")
            }
            var lineEnd = lineFeed
            if lineEnd > lineStart, body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = body[lineStart..<lineEnd]
            lineStart = lineFeed + 1
            if line.isEmpty { break }
            headers.add(line)
        }
        let disposition = headers.value(named: "content-disposition").map(HeaderParameters.init)
        return MultipartPart(
            name: disposition?["name"],
            filename: disposition?.formDataFilename,
            contentType: headers.value(named: "content-type"),
            body: body[lineStart..<content.upperBound])
    }
}
