import ProgimageAPI
import ProgimageCore

/// `GET /images/{id}` and `DELETE /images/{id}`.
struct ImageResourceHandler {
    let context: ServiceContext

    func metadata(of id: ImageID) throws(ServiceError) -> HTTPResponse {
        guard let record = try context.metadata.record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        return .json(200, record.json)
    }

    /// The row goes first (the id stops existing at once), then the original, then every
    /// derived file, so no URL of the id can answer 200 afterwards.
    func delete(_ id: ImageID, request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        try context.keys.authorizeWrite(authorization: request.headers["authorization"])
        guard let record = try context.metadata.record(id), try context.metadata.delete(id) else {
            throw ServiceError(.notFound, "no image with id \(id)")
        }
        try context.originals.remove(id: id, format: record.format)
        context.cache.removeAll(of: id)
        return HTTPResponse(status: 204)
    }
}
