import ProgimageAPI
import ProgimageCore

/// A cache miss for a conversion or transform: render once, store where nginx looks,
/// answer with the same bytes and validator the next HIT will have.
struct DerivedImageHandler {
    let context: ServiceContext

    func respond(to request: HTTPRequest, id: ImageID, chain: OperationChain) throws(ServiceError) -> HTTPResponse {
        guard request.method == "GET" || request.isHead else { throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"]) }
        guard chain.role == context.role else {
            throw ServiceError(.misdirectedRequest, "\(chain.role) instances make this image, this is \(context.role)")
        }
        try context.keys.verifySignature(path: "/images/\(id)\(chain.canonicalPath)", signature: request.queryValue("sig"))

        let bytes: [UInt8]
        let etag: String
        if chain.operations.isEmpty, chain.quality == nil, let record = try context.metadata.record(id), record.format == chain.format {
            // The original itself: nginx normally serves it; this is only a race with upload.
            bytes = try context.originals.read(id: id, format: record.format)
            etag = "\"\(String(bytes.count, radix: 16))-\(record.sha256.prefix(16))\""
        } else {
            let rendered = try context.renderer.render(id: id, chain: chain)
            (bytes, etag) = (rendered.bytes, rendered.etag)
        }

        var headers: [(name: String, value: String)] = [
            ("Content-Type", chain.format.contentType),
            ("ETag", etag),
            ("Cache-Control", "public, max-age=31536000, immutable"),
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Cache", "MISS"),
        ]
        if let match = request.headers["if-none-match"], match.split(separator: ",").contains(where: {
            $0.trimmingPrefix(" ") == etag || $0.trimmingPrefix(" ") == "W/" + etag
        }) {
            headers.removeAll { $0.name == "Content-Type" }
            return HTTPResponse(status: 304, headers: headers)
        }
        return HTTPResponse(status: 200, headers: headers, body: bytes)
    }
}

extension Substring {
    fileprivate func trimmingPrefix(_ character: Character) -> Substring {
        var s = self
        while s.first == character { s = s.dropFirst() }
        return s
    }
}
