import ProgimageDeployment
import ProgimageAPI
import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// `GET /health/{type}`: answered by an instance of that type, with its own pid.
struct HealthHandler {
    let context: ServiceContext

    func respond(to request: HTTPRequest, type: String) throws(ServiceError) -> HTTPResponse {
        guard let role = TransformRole(rawValue: type) else { throw ServiceError(.notFound, "no instance type \(type)") }
        guard role == context.role else {
            throw ServiceError(.misdirectedRequest, "this is a \(context.role) instance, not \(role)")
        }
        guard request.method == "GET" || request.isHead else {
            throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"])
        }
        let uptime = (context.uptimeSeconds * 1000).rounded() / 1000
        var fields: [(String, JSONValue)] = [
            ("instance", .string(role.rawValue)), ("status", .string("ok")), ("pid", .int(Int(getpid()))),
            ("uptime_s", .double(uptime)),
        ]
        // Readiness of what writes need, on the api instance (the one that writes).
        if role == .api {
            let database = context.metadata.isAvailable
            let objectStore = context.bucketOriginals?.isAvailable ?? true
            fields.append(("database", .string(database ? "ok" : "unavailable")))
            fields.append(("object_store", .string(objectStore ? "ok" : "unavailable")))
        }
        return .json(200, .object(fields))
    }
}
