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
