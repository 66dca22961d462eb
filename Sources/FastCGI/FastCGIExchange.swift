internal import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// One accepted FastCGI request on one worker thread: its parameters, its body, and the
/// stream its response goes to. Lent to the handler for the duration of the request only,
/// on the one thread that accepted it (hence `@unchecked Sendable`).
public final class FastCGIExchange: @unchecked Sendable {
    let request: UnsafeMutablePointer<FCGX_Request>

    init(request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
    }

    /// The CGI parameters nginx sent (`REQUEST_METHOD`, `DOCUMENT_URI`, `HTTP_*`, …).
    public func parameters() -> [String: String] {
        EnvironmentBlock.parse(request.pointee.envp)
    }

    /// Whether nginx has closed the connection: it does when its client leaves or its read
    /// timeout passes (it has answered `504`), so nothing written now reaches anyone. One
    /// `poll` with no wait.
    public func peerHasClosed() -> Bool { cfastcgi_peer_closed(request.pointee.ipcFd) != 0 }

    /// Reads the request body, at most `limit + 1` bytes so a caller can tell "too large"
    /// without buffering an unbounded stream (nginx has already buffered it to disk).
    public func readBody(expected: Int, limit: Int) -> [UInt8] {
        let cap = min(max(expected, 0), limit + 1)
        var body = [UInt8](repeating: 0, count: cap)
        var filled = 0
        body.withUnsafeMutableBytes { buffer in
            while filled < cap {
                let chunk = Int32(min(cap - filled, 1 << 20))
                let n = FCGX_GetStr(buffer.baseAddress!.advanced(by: filled).assumingMemoryBound(to: CChar.self), chunk, request.pointee.in)
                if n <= 0 { break }
                filled += Int(n)
            }
        }
        if filled < body.count { body.removeSubrange(filled...) }
        return body
    }

    /// Writes to the response stream in chunks: `FCGX_PutStr` takes an `Int32` length.
    /// Returns false once the client or nginx has gone away.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Bool {
        var ok = true
        let chunkSize = 1 << 20
        var contiguous = ContiguousArray(bytes)
        contiguous.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = min(chunkSize, buffer.count - offset)
                let written = FCGX_PutStr(
                    buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(n), request.pointee.out)
                if written != n {
                    ok = false
                    return
                }
                offset += n
            }
        }
        return ok
    }
}
