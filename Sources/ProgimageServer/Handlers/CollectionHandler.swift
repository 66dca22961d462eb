import ProgimageAPI
import ProgimageCore

/// `GET /images?limit&cursor`: newest first, cursor pagination.
struct ListHandler {
    let context: ServiceContext

    func respond(to request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        var limit = 50
        if let text = request.queryValue("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw ServiceError(.badRequest, "limit must be an integer from 1 to 1000")
            }
            limit = value
        }
        var cursor: ListCursor?
        if let token = request.queryValue("cursor") {
            guard let parsed = ListCursor(token: token) else { throw ServiceError(.badRequest, "invalid cursor") }
            cursor = parsed
        }
        let page = try context.metadata.list(limit: limit, cursor: cursor)
        return .json(
            200, .object([("images", .array(page.records.map(\.json))), ("next_cursor", .optional(page.next?.token))]))
    }
}

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
