import FastCGI
import Logging
import ProgimageAPI
import ProgimageCore
import Synchronization

/// Turns one FastCGI exchange into one response and one log line. This is the edge where
/// every error becomes JSON; an unexpected one is a 500 with details in the log only.
final class Responder: Sendable {
    let context: ServiceContext
    let logger: Logger
    private let router: Router
    private let served = Atomic<Int>(0)

    init(context: ServiceContext, logger: Logger) {
        self.context = context
        self.logger = logger
        router = Router(context: context)
    }

    func handle(_ exchange: FastCGIExchange) {
        let started = ServiceContext.monotonicSeconds()
        let request = HTTPRequest(parameters: exchange.parameters()) { limit in
            exchange.readBody(expected: Int.max, limit: limit)
        }
        var response: HTTPResponse
        do {
            response = try router.respond(to: request)
        } catch {
            if error.code == .internalError {
                logger.error("request failed", metadata: ["request.path": "\(request.path)", "error": "\(error.message)"])
            }
            response = ErrorResponse.make(error)
        }
        response.headers.append(("X-Progimage-Instance", context.role.rawValue))
        exchange.write(Array(response.head().utf8))
        if !request.isHead, response.status != 304 { exchange.write(response.body) }

        let ms = (ServiceContext.monotonicSeconds() - started) * 1000
        logger.info(
            "request",
            metadata: [
                "request.method": "\(request.method)", "request.path": "\(request.path)",
                "response.status": "\(response.status)", "request.ms": "\((ms * 10).rounded() / 10)",
            ])
        recycleIfDue()
    }

    /// After `recycleAfterRequests` the worker stops gracefully and its supervisor starts a
    /// fresh one on the same socket: libgd 2.3.3 leaks in AVIF/HEIF encoding.
    private func recycleIfDue() {
        let limit = context.configuration.recycleAfterRequests
        guard limit > 0 else { return }
        if served.add(1, ordering: .relaxed).newValue == limit {
            logger.info("recycling after \(limit) requests")
            FastCGIServer.requestStop()
        }
    }
}
