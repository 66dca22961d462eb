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
        // One read of the record serves the whole miss. An id never uploaded, or deleted, is
        // `404` before any signature is looked at: API.md has every URL of a deleted id answer
        // 404, and ids are no secret (the original is served to anyone).
        guard let record = try context.metadata.record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        if chain.operations.isEmpty, chain.quality == nil, record.format == chain.format {
            // The original itself, which needs no signature: nginx normally serves it; this
            // is a race with an upload (nginx finds the file now), or a box without its
            // local copy, fetched first (and answered from memory when there is no room to
            // keep it).
            if let unkept = try context.renderer.originalForNginx(id: id, format: record.format) {
                // Dated as every copy of an original is (`ImageStore.date`).
                let created = Timestamp.unixSeconds(of: record.createdAt) ?? 0
                return UnkeptImageResponse(bytes: unkept, format: record.format, lastModified: created).response(to: request)
            }
            let (first, second) = id.shards
            return Self.servedByNginx("/_progimage/original/\(first)/\(second)/\(id).\(record.format.rawValue)")
        }
        try context.keys.verifySignature(path: "/images/\(id)\(chain.canonicalPath)", signature: request.queryValue("sig"))
        switch try context.renderer.render(record, chain: chain, isAbandoned: request.isAbandoned) {
        case .stored(let cachePath):
            return Self.servedByNginx("/_progimage/made/" + cachePath)
        case .unkept(let bytes, let lastModified):
            // No room in the cache: the image anyway, not kept (the next request makes it again).
            return UnkeptImageResponse(bytes: bytes, format: chain.format, lastModified: lastModified).response(to: request)
        }
    }

    /// The file is on disk where the next HIT will find it: nginx serves this answer from it
    /// too (`X-Accel-Redirect` to an internal location), so a MISS carries exactly the HIT's
    /// headers (ETag, Last-Modified, Accept-Ranges) and answers `Range` and `If-None-Match`
    /// the same way, and the bytes never cross the FastCGI socket.
    static func servedByNginx(_ internalPath: String) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("X-Accel-Redirect", internalPath)])
    }
}
