import HTTPFetch
import Testing

extension Ingest {
    /// The pin below the policy: libcurl connects to the given address whatever the URL says.
    @Suite struct HTTPFetcherPinningTests {
        let server: IngestTestServer
        let fetcher = HTTPFetcher(timeoutMilliseconds: 5000, maxBytes: 1 << 20)

        init() throws { server = try IngestTestServer() }

        @Test func nameIsResolvedByThePinNotByDNS() throws {
            let response = try fetcher.get(
                "http://pinned.invalid:\(server.port)/x.png", host: "pinned.invalid", port: server.port, address: "127.0.0.1")
            #expect(response.status == 200)
            #expect(response.body == Array("image at /x.png".utf8))
        }

        /// A URL whose host libcurl resolves differently from the caller (here: a pin for
        /// another name) gets no socket at all.
        @Test func socketToAnotherAddressIsRefused() throws {
            #expect(throws: HTTPFetchError.addressRefused) {
                try fetcher.get(
                    "http://127.0.0.1:\(server.port)/secret", host: "other.invalid", port: server.port, address: "127.0.0.2")
            }
            #expect(throws: HTTPFetchError.addressRefused) {
                try fetcher.get(
                    "http://127.0.0.1:\(server.port)/secret", host: "127.0.0.1", port: server.port + 1, address: "127.0.0.1")
            }
            #expect(!server.log.contains("connect"))
        }

        @Test func redirectIsReportedNotFollowed() throws {
            let response = try fetcher.get(
                server.url("/hops/1/a.png"), host: "127.0.0.1", port: server.port, address: "127.0.0.1")
            #expect(response.status == 302)
            #expect(response.location == server.url("/hops/0/a.png"))
            #expect(response.body.isEmpty)
            #expect(server.log == ["connect", "GET /hops/1/a.png"])
        }

        /// `Location` on a 201 names the created resource; it is not somewhere to go next.
        @Test func locationOnlyForRedirects() throws {
            let response = try fetcher.get(
                server.url("/redirect?status=201&to=/elsewhere.png"), host: "127.0.0.1", port: server.port,
                address: "127.0.0.1")
            #expect(response.status == 201 && response.location == nil)
        }

        @Test func ipv6LiteralNeedsNoResolveEntry() {
            #expect(throws: HTTPFetchError.self) {
                try fetcher.get("http://[::1]:1/", host: "::1", port: 1, address: "::1")
            }
            do {
                _ = try fetcher.get("http://[::1]:1/", host: "::1", port: 1, address: "::1")
            } catch {
                guard case .connectFailed = error else {
                    Issue.record("expected a refused connection, got \(error)")
                    return
                }
            }
        }
    }
}
