import Foundation
import ProgimageCore
import Testing

/// Link ingest's suites, a concept each; `swift test --filter Ingest` runs them.
@Suite enum Ingest {}

/// A small HTTP server on 127.0.0.1 (Python's `http.server`, a subprocess) with the
/// misbehaviours link ingest must survive. It logs every accepted connection and request
/// to a file, so tests can prove what reached it. It dies with the test (SIGKILL in
/// `deinit`, or EOF on its stdin if the test process dies first) and after 60 s regardless.
final class IngestTestServer {
    let port: Int
    private let process: Process
    /// Held open for the server's life: its closing tells the server to exit.
    private let lifeline = Pipe()
    private let logPath: String

    init() throws {
        logPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("progimage-ingest-\(UInt64.random(in: 0...UInt64.max)).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, logPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = lifeline
        try process.run()
        var line: [UInt8] = []
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "test server did not start"])
        }
        self.port = port
    }

    /// SIGKILL, not `terminate()`: the test runner's threads block SIGTERM, and a child
    /// inherits the blocked mask.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Every line logged so far: `connect`, `GET /path`, `endless sent N`.
    var log: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Connections accepted before a last request of the test's own, for "refused without
    /// any connection": the server accepts in order, so once `GET /sentinel` is logged,
    /// every earlier connection is logged too.
    func connectionsBeforeSentinel() throws -> Int {
        _ = try LinkFetcher(allowHosts: ["127.0.0.1"], timeoutSeconds: 5, maxBytes: 1 << 20).fetch(url("/sentinel"))
        let lines = log
        let sentinel = lines.firstIndex(of: "GET /sentinel") ?? lines.count
        return lines[..<sentinel].filter { $0 == "connect" }.count - 1
    }

    /// Waits (up to 5 s) for a log line starting with `prefix`.
    func awaitLine(startingWith prefix: String) -> String? {
        for _ in 0..<100 {
            if let line = log.first(where: { $0.hasPrefix(prefix) }) { return line }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    private static let script = #"""
        import http.server, os, signal, sys, threading, time, urllib.parse

        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
        threading.Timer(60, lambda: os._exit(0)).start()

        log = open(sys.argv[1], "a", buffering=1)
        lock = threading.Lock()
        def note(line):
            with lock:
                log.write(line + "\n")

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            def get_request(self):
                pair = super().get_request()
                note("connect")
                return pair

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args):
                pass

            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                note("GET " + self.path)
                url = urllib.parse.urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                query = urllib.parse.parse_qs(url.query)
                if parts[0] == "hops":
                    left = int(parts[1])
                    if left == 0:
                        self.answer(200, b"arrived")
                    else:
                        status = [301, 302, 303, 307, 308][left % 5]
                        self.answer(status, b"moved", [("Location", "/hops/%d/%s" % (left - 1, parts[2]))])
                elif parts[0] == "redirect":
                    self.answer(int(query.get("status", ["302"])[0]), b"", [("Location", query["to"][0])])
                elif parts[0] == "redirect-without-location":
                    self.answer(302)
                elif parts[0] == "status":
                    self.answer(int(parts[1]), b"not here")
                elif parts[0] == "bytes":
                    self.answer(200, b"a" * int(parts[1]))
                elif parts[0] == "endless":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    sent, chunk, start = 0, b"\0" * 65536, time.time()
                    try:
                        while time.time() - start < 30:
                            self.wfile.write(chunk)
                            sent += len(chunk)
                    except OSError:
                        pass
                    note("endless sent %d" % sent)
                    self.close_connection = True
                elif parts[0] == "declared-large":
                    self.send_response(200)
                    self.send_header("Content-Length", str(1 << 40))
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b"\0" * 65536)
                    except OSError:
                        pass
                    self.close_connection = True
                elif parts[0] == "stall-headers":
                    time.sleep(30)
                elif parts[0] == "stall-body":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b"half")
                    time.sleep(30)
                else:
                    self.answer(200, ("image at " + url.path).encode())

        server = Server(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}
