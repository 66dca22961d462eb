import Foundation
import ProgimageAPI
import Testing

@testable import ProgimageCore

extension Ingest {
    /// Link ingest against a real HTTP server on 127.0.0.1, allowed through the allow list.
    @Suite struct LinkFetcherNetworkTests {
        let server: IngestTestServer
        let fetcher = LinkFetcher(allowHosts: ["127.0.0.1"], timeoutSeconds: 5, maxBytes: 1 << 20)

        init() throws { server = try IngestTestServer() }

        /// The code of the `ServiceError` `body` throws, or nil if it returns.
        func code(_ body: () throws -> Void) -> ErrorCode? {
            do {
                try body()
                return nil
            } catch let error as ServiceError {
                return error.code
            } catch {
                Issue.record("not a ServiceError: \(error)")
                return nil
            }
        }

        @Test func fetchesAnImage() throws {
            let result = try fetcher.fetch(server.url("/photos/my%20cat.png?size=large#top"))
            #expect(result.bytes == Array("image at /photos/my%20cat.png".utf8))
            #expect(result.filename == "my cat.png")
            #expect(result.finalURL == server.url("/photos/my%20cat.png?size=large"))
            #expect(server.log.contains("GET /photos/my%20cat.png?size=large"))
        }

        @Test func allowedHostNameIsPinnedToItsResolvedAddress() throws {
            let byName = LinkFetcher(allowHosts: ["localhost"], timeoutSeconds: 5, maxBytes: 1 << 20)
            let result = try byName.fetch("http://LocalHost:\(server.port)/x.gif")
            #expect(result.bytes == Array("image at /x.gif".utf8))
            #expect(result.finalURL == "http://localhost:\(server.port)/x.gif")
        }

        @Test(arguments: [404, 500, 300, 304, 418])
        func nonSuccessFails(status: Int) {
            #expect(code { _ = try fetcher.fetch(server.url("/status/\(status)")) } == .fetchFailed)
        }

        @Test func followsThreeRedirectsOfEveryKind() throws {
            let result = try fetcher.fetch(server.url("/hops/3/cat.png"))
            #expect(result.bytes == Array("arrived".utf8))
            #expect(result.filename == "cat.png")
            #expect(result.finalURL == server.url("/hops/0/cat.png"))
            for status in [301, 302, 303, 307, 308] {
                let target = server.url("/to-\(status).png")
                let hop = try fetcher.fetch(server.url("/redirect?status=\(status)&to=\(target)"))
                #expect(hop.finalURL == target)
            }
        }

        @Test func refusesAFourthRedirect() {
            #expect(code { _ = try fetcher.fetch(server.url("/hops/4/cat.png")) } == .fetchFailed)
            #expect(server.log.filter { $0.hasPrefix("GET /hops/") } == (1...4).reversed().map { "GET /hops/\($0)/cat.png" })
        }

        @Test func resolvesRelativeLocations() throws {
            let result = try fetcher.fetch(server.url("/redirect?to=elsewhere/dog.png"))
            #expect(result.finalURL == server.url("/elsewhere/dog.png"))
            #expect(result.filename == "redirect", "the requested URL's last segment names the file")
        }

        @Test func redirectWithoutLocationFails() {
            #expect(code { _ = try fetcher.fetch(server.url("/redirect-without-location")) } == .fetchFailed)
        }

        /// From an allowed host to forbidden ones: refused before any connection. `0.0.0.0`
        /// would reach this very server on Linux.
        @Test(arguments: [
            "http://0.0.0.0:PORT/secret", "http://[::1]:PORT/secret", "http://[::ffff:0.0.0.0]:PORT/secret",
            "http://127.0.0.2:PORT/secret", "http://169.254.169.254/secret", "http://10.0.0.1/secret",
            "ftp://127.0.0.1:PORT/secret", "file:///secret", "http://user@127.0.0.1:PORT/secret",
        ])
        func refusesRedirectToForbiddenHost(target: String) throws {
            let location = target.replacingOccurrences(of: "PORT", with: "\(server.port)")
            #expect(code { _ = try fetcher.fetch(server.url("/redirect?to=\(location)")) } == .forbiddenURL)
            #expect(try server.connectionsBeforeSentinel() == 1, "only the redirecting request connected")
            #expect(!server.log.contains { $0.contains("secret") && !$0.contains("redirect") })
        }

        @Test func endlessBodyIsCutAtTheCap() throws {
            let clock = ContinuousClock()
            let started = clock.now
            #expect(code { _ = try fetcher.fetch(server.url("/endless")) } == .payloadTooLarge)
            #expect(clock.now - started < .seconds(3))
            let line = try #require(server.awaitLine(startingWith: "endless sent"))
            let sent = try #require(Int(line.split(separator: " ").last ?? ""))
            #expect(sent < 32 << 20, "the server stopped once the client hung up: \(line)")
        }

        @Test func declaredLengthOverTheCapIsRefusedAtOnce() {
            #expect(code { _ = try fetcher.fetch(server.url("/declared-large")) } == .payloadTooLarge)
        }

        @Test func bodyOfExactlyTheCapIsAccepted() throws {
            let small = LinkFetcher(allowHosts: ["127.0.0.1"], timeoutSeconds: 5, maxBytes: 1000)
            #expect(try small.fetch(server.url("/bytes/1000")).bytes.count == 1000)
            #expect(code { _ = try small.fetch(server.url("/bytes/1001")) } == .payloadTooLarge)
        }

        @Test(arguments: ["/stall-headers", "/stall-body"])
        func stallingServerTimesOut(path: String) {
            let quick = LinkFetcher(allowHosts: ["127.0.0.1"], timeoutSeconds: 1, maxBytes: 1 << 20)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(code { _ = try quick.fetch(server.url(path)) } == .fetchFailed)
            let elapsed = clock.now - started
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(4), "\(elapsed)")
        }

        @Test func timeLimitCoversTheWholeRedirectChain() {
            let quick = LinkFetcher(allowHosts: ["127.0.0.1"], timeoutSeconds: 1, maxBytes: 1 << 20)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(code { _ = try quick.fetch(server.url("/redirect?to=/stall-headers")) } == .fetchFailed)
            #expect(clock.now - started < .seconds(3))
        }

        @Test func connectionRefusedAndUnknownHostFail() {
            #expect(code { _ = try fetcher.fetch("http://127.0.0.1:1/x.png") } == .fetchFailed)
            #expect(code { _ = try fetcher.fetch("http://no-such-host.invalid/x.png") } == .fetchFailed)
        }

        /// Every spelling of this server's address, with nothing allowed: refused, and the
        /// server never sees a connection.
        @Test func forbiddenSpellingsNeverConnect() throws {
            let closed = LinkFetcher(allowHosts: [], timeoutSeconds: 5, maxBytes: 1 << 20)
            let spellings = [
                "127.0.0.1", "localhost", "LOCALHOST", "localhost.", "127.0.0.1.", "0x7f000001", "0X7F000001",
                "2130706433", "0177.0.0.1", "017700000001", "127.1", "127.0.1", "0x7f.1", "0x7f.0.0.1", "0", "0x0",
                "0.0.0.0", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "[::]", "[0:0:0:0:0:0:0:1]",
                "[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::1]", "127.255.255.254",
            ]
            for host in spellings {
                #expect(code { _ = try closed.fetch("http://\(host):\(server.port)/secret.png") } == .forbiddenURL, "\(host)")
            }
            for url in [
                "ftp://127.0.0.1:\(server.port)/secret", "gopher://127.0.0.1:\(server.port)/secret",
                "dict://127.0.0.1:\(server.port)/secret", "file:///etc/passwd",
                "http://example.com@127.0.0.1:\(server.port)/secret", "http://%31%32%37.0.0.1:\(server.port)/secret",
            ] {
                #expect(code { _ = try closed.fetch(url) } == .forbiddenURL, "\(url)")
            }
            #expect(try server.connectionsBeforeSentinel() == 0)
        }

        /// `0.0.0.0` reaches the local host on Linux: an allow list naming 127.0.0.1 does not
        /// admit it, nor other loopback addresses.
        @Test func allowListAdmitsOnlyWhatItNames() throws {
            for host in ["0.0.0.0", "127.0.0.2", "[::1]", "0"] {
                #expect(code { _ = try fetcher.fetch("http://\(host):\(server.port)/secret.png") } == .forbiddenURL, "\(host)")
            }
            #expect(try server.connectionsBeforeSentinel() == 0)
            let spelled = try fetcher.fetch("http://0x7f000001:\(server.port)/odd.png")
            #expect(spelled.finalURL == server.url("/odd.png"), "an odd spelling connects to its canonical address")
        }
    }
}
