import ProgimageDeployment
import ProgimageAPI
import ProgimageCore

/// Maps a request to its handler. Routes of other roles are answered
/// `421 misdirected_request`: nginx sent it to the wrong instance type.
struct Router {
    let context: ServiceContext

    func respond(to request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        do {
            return try route(request)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.internalError, "\(error)")
        }
    }

    private func route(_ request: HTTPRequest) throws -> HTTPResponse {
        if request.isMetricsScrape, let exporter = context.metricsExporter {
            try requireAPI()
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Cache-Control", "no-store")],
                body: Array(exporter.prometheusText().utf8))
        }
        if request.path == "/openapi.yaml" {
            try requireAPI()
            guard request.method == "GET" || request.isHead else { throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"]) }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/yaml"), ("Cache-Control", "public, max-age=300")],
                body: Array((OpenAPIDocument.yaml + "\n").utf8))
        }
        if request.path.hasPrefix("/health/") {
            return try HealthHandler(context: context).respond(to: request, type: String(request.path.dropFirst("/health/".count)))
        }
        // A `.auto` URL's operations are checked as it is parsed: a method it does not take
        // is answered first (`QUERY` with bad operations was a 400, not the 405 it is).
        if request.path.hasSuffix(".auto"), request.path.hasPrefix("/images/"), request.method != "GET", !request.isHead {
            throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"])
        }
        switch try ImageRequestPath.parse(request.path, presets: context.configuration.presets) {
        case .collection:
            try requireAPI()
            switch request.method {
            case "GET", "HEAD": return try ListHandler(context: context).respond(to: request)
            case "POST": return try UploadHandler(context: context).respond(to: request)
            default: throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD", "POST"])
            }
        case .metadata(let id):
            try requireAPI()
            let handler = ImageResourceHandler(context: context)
            switch request.method {
            case "GET", "HEAD": return try handler.metadata(of: id)
            case "DELETE": return try handler.delete(id, request: request)
            default: throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD", "DELETE"])
            }
        case .redirect(let id, let path, let overlays):
            // The spelling of an image URL: what it allows is what an image allows, and a
            // deleted image's every URL is a 404, its misspellings too; so is every URL
            // drawing a deleted image as an overlay (those were 301s a cache kept a day).
            guard request.method == "GET" || request.isHead else {
                throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"])
            }
            // Only a store that answers "no such image" stops the redirect: one that cannot
            // answer does not, as an alias kept working off disk through a database outage.
            for image in [id] + overlays {
                if case .some(.none) = try? context.metadata.record(image) {
                    throw ServiceError(.notFound, "no image with id \(image)")
                }
            }
            let location = request.query.isEmpty ? path : "\(path)?\(request.query)"
            // Timing-Allow-Origin: an image reached through this hop (AutoFormatHandler).
            return .json(
                301, .object([("location", .string(location))]),
                headers: [("Location", location), ("Cache-Control", "public, max-age=86400"), ("Timing-Allow-Origin", "*")])
        case .auto(let id, let operations):
            try requireAPI()
            return try AutoFormatHandler(context: context).respond(to: request, id: id, operations: operations)
        case .derived(let id, let chain):
            return try DerivedImageHandler(context: context).respond(to: request, id: id, chain: chain)
        }
    }

    private func requireAPI() throws(ServiceError) {
        guard context.role == .api else {
            throw ServiceError(.misdirectedRequest, "the api instance serves this, this is \(context.role)")
        }
    }
}
