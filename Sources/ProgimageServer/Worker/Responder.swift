import ProgimageDeployment
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
    private let recycling = Atomic<Bool>(false)
    private let heapTrimmer = IdleHeapTrimmer()

    init(context: ServiceContext, logger: Logger) {
        self.context = context
        self.logger = logger
        router = Router(context: context)
    }

    func handle(_ exchange: FastCGIExchange) {
        heapTrimmer.run { respond(exchange) }
        recycleIfDue()
    }

    private func respond(_ exchange: FastCGIExchange) {
        let started = ServiceContext.monotonicSeconds()
        let parameters = exchange.parameters()
        // The declared length bounds the buffer: allocating up to the limit for every
        // upload cost ~53 MB of zero-filled memory per request, whatever its size. Without
        // a length (nginx always sends one after buffering) read up to the limit.
        let request = HTTPRequest(parameters: parameters, isAbandoned: { exchange.peerHasClosed() }) { declared, limit in
            exchange.readBody(expected: declared ?? Int.max, limit: limit)
        }
        var response: HTTPResponse
        do {
            response = try router.respond(to: request)
        } catch {
            if error.code == .internalError || error.code == .storageUnavailable {
                logger.error("request failed", metadata: ["request.path": "\(request.path)", "error": "\(error.message)"])
            }
            response = ErrorResponse.make(error, method: request.method)
        }
        response.headers.append(("X-Progimage-Instance", context.role.rawValue))
        exchange.write(Array(response.head().utf8))
        if !request.isHead, response.status != 304 { exchange.write(response.body) }

        let elapsed = ServiceContext.monotonicSeconds() - started
        if !request.isMetricsScrape { context.metrics?.record(status: response.status, seconds: elapsed) }
        let ms = elapsed * 1000
        logger.info(
            "request",
            metadata: [
                "request.method": "\(request.method)", "request.path": "\(request.path)",
                "response.status": "\(response.status)", "request.ms": "\((ms * 10).rounded() / 10)",
            ])
    }

    /// After `recycleAfterRequests` requests, or once resident memory passes
    /// `recycleAboveResidentBytes`, the worker stops gracefully and its supervisor starts a
    /// fresh one on the same socket: libgd 2.3.3 leaks in AVIF/HEIF encoding. In-flight
    /// requests finish; queued ones wait in the socket's backlog for the new process.
    private func recycleIfDue() {
        let configuration = context.configuration
        let count = served.add(1, ordering: .relaxed).newValue
        // Once stopping, no further reason is looked for (no /proc read per request).
        guard !recycling.load(ordering: .relaxed) else { return }
        let reason: Logger.Metadata
        if configuration.recycleAfterRequests > 0, count >= configuration.recycleAfterRequests {
            reason = ["requests": "\(count)"]
        } else if configuration.recycleAboveResidentBytes > 0, let resident = ProcessMemory.residentBytes(),
            resident > configuration.recycleAboveResidentBytes
        {
            reason = ["rss_bytes": "\(resident)"]
        } else {
            return
        }
        guard !recycling.exchange(true, ordering: .relaxed) else { return }
        logger.info("recycling", metadata: reason)
        FastCGIServer.requestStop()
    }
}
