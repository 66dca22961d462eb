public import Foundation
// Re-exported: the operation types a caller builds links from (`ResizeOperation`,
// `OperationChain`, `ImageFormat`) come with `import ProgimageClient`, as the README shows.
@_exported public import ProgimageAPI
internal import Digest
internal import Dispatch
internal import HTTPFetch
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The service from Swift: upload, metadata, list, delete, and image URLs built (and
/// signed) offline. Every call is async and throws `ProgimageClientError`.
///
/// Requests go through libcurl's easy interface (`CurlEasyHandle`), each on a thread of
/// its own while it blocks: Foundation's URLSession on Linux spun a core while it waited
/// for an answer (4.8 s of CPU in 6 s on a silent server, measured with the CLI).
public struct ProgimageClient: Sendable {
    public let baseURL: URL
    public let apiKey: String?
    public let signingKey: String?

    /// Largest answer kept (an image of the service's own limits fits many times over).
    static let maximumAnswerBytes = 1 << 31
    /// Idle handles, each keeping its connection open for the next request (a fresh handle
    /// per request made `progimage upload` of 200 files 0.21 → 0.29 s).
    private let idle = IdleHandles()

    public init(baseURL: URL, apiKey: String? = nil, signingKey: String? = nil) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.signingKey = signingKey
    }

    // MARK: images

    /// One image from memory; `filename` is kept as metadata.
    public func upload(_ data: Data, filename: String? = nil) async throws(ProgimageClientError) -> ImageObject {
        var request = makeRequest("POST", "/images")
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        if let filename, let encoded = filename.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
            request.setValue("attachment; filename*=UTF-8''\(encoded)", forHTTPHeaderField: "Content-Disposition")
        }
        request.httpBody = data
        return try await decode(ImageObject.self, send(request))
    }

    /// One image from a file.
    public func upload(fileAt file: URL) async throws(ProgimageClientError) -> ImageObject {
        try await upload(try read(file), filename: file.lastPathComponent)
    }

    /// Several files in one multipart request: all stored, or none.
    public func upload(filesAt files: [URL]) async throws(ProgimageClientError) -> [ImageObject] {
        let boundary = "progimage-\(UUID().uuidString)"
        var body = Data()
        for file in files {
            // As browsers write a form part's filename (the HTML standard), which the service
            // decodes: `"`, CR and LF percent-encoded, everything else as it is.
            let name = file.lastPathComponent.replacingOccurrences(of: "\"", with: "%22")
                .replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\n".utf8))
            body.append(Data("Content-Type: application/octet-stream\r\n\r\n".utf8))
            body.append(try read(file))
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        var request = makeRequest("POST", "/images")
        request.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        request.httpBody = body
        let answer = try await send(request)
        if files.count == 1 { return [try decode(ImageObject.self, answer)] }
        struct Several: Decodable { let images: [ImageObject] }
        return try decode(Several.self, answer).images
    }

    /// Link ingest: the service fetches `link`.
    public func upload(from link: String) async throws(ProgimageClientError) -> ImageObject {
        var request = makeRequest("POST", "/images")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try? JSONSerialization.data(withJSONObject: ["url": link])
        return try await decode(ImageObject.self, send(request))
    }

    public func image(_ id: String) async throws(ProgimageClientError) -> ImageObject {
        try await decode(ImageObject.self, send(makeRequest("GET", "/images/\(try Self.checked(id))")))
    }

    /// Every image, newest first, one page (`pageSize` images) fetched at a time.
    public func images(pageSize: Int = 100) -> ImageSequence {
        ImageSequence(client: self, pageSize: pageSize)
    }

    func page(limit: Int, cursor: String?) async throws(ProgimageClientError) -> ImagePage {
        var query = "limit=\(limit)"
        if let cursor { query += "&cursor=\(cursor)" }
        return try await decode(ImagePage.self, send(makeRequest("GET", "/images", query: query)))
    }

    /// Only the contract's `204` is a delete: another 2xx (a proxy's page, another service
    /// at the base URL) had been taken for one.
    public func delete(_ id: String) async throws(ProgimageClientError) {
        let answer = try await exchange(makeRequest("DELETE", "/images/\(try Self.checked(id))"))
        guard answer.status == 204 else { throw .unreadableAnswer("expected 204 to a delete, got \(answer.status)") }
    }

    // MARK: URLs

    /// The absolute URL of a conversion or transform, with `?sig=` when a signing key is set.
    /// Without the user and password a base URL may hold: the URL is for a page or a
    /// message, and `progimage url` against `http://u:pw@host` had printed the password.
    public func url(for link: ImageLink) -> URL {
        URL(string: linkBase + link.path + signatureQuery(of: link))!
    }

    /// `url(for:)` as the client fetches it, with the base URL's user and password.
    private func fetchedURL(for link: ImageLink) -> URL {
        var text = baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + link.path + signatureQuery(of: link))!
    }

    private func signatureQuery(of link: ImageLink) -> String {
        signingKey.map { "?sig=\(link.signature(key: $0))" } ?? ""
    }

    /// The base URL for links handed out: no user and password, no trailing `/`.
    private var linkBase: String {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
        components?.user = nil
        components?.password = nil
        var text = components?.string ?? baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A signed upload URL a browser may POST to without the API key until `expires`
    /// (without the base URL's user and password, as `url(for:)`).
    public func uploadURL(expires: Int, maxBytes: Int? = nil) throws(ProgimageClientError) -> URL {
        guard let signingKey else { throw .invalidRequest("signed upload URLs need the signing key") }
        var query = "expires=\(expires)"
        if let maxBytes { query += "&max_bytes=\(maxBytes)" }
        let signature = Base64URL.encode(SHA256.hmac(key: Array(signingKey.utf8), message: Array("POST /images?\(query)".utf8)))
        return URL(string: "\(linkBase)/images?\(query)&sig=\(signature)")!
    }

    /// The bytes of a conversion or transform: a `200` with an image's content type. Any
    /// other 2xx (a proxy's login page, JSON from another service) had been written out as
    /// the image.
    public func data(for link: ImageLink) async throws(ProgimageClientError) -> Data {
        var request = URLRequest(url: fetchedURL(for: link))
        request.httpMethod = "GET"
        let answer = try await exchange(request)
        let type = answer.contentType ?? "none"
        guard answer.status == 200, type.lowercased().hasPrefix("image/") else {
            throw .unreadableAnswer("expected an image, got \(answer.status) with content type \(type)")
        }
        return answer.body
    }

    // MARK: plumbing

    /// A URL for a message, without the user and password a `--server` URL may carry.
    static func shown(_ url: URL?) -> String {
        url.map { Self.withoutUserInfo($0.absoluteString) } ?? "?"
    }

    /// `text` without the user and password of its authority (`http://user:pass@host`),
    /// for a message about a URL, parsed or not (a refused `--server` had repeated them).
    /// Everything up to the last `@` goes, wherever it stands: a password may hold `/`, `?`
    /// or `#` (`http://u:pa#ss@host` had been shown whole). A base URL holds no other `@`
    /// (the CLI refuses one in its path), nor does any path the client makes.
    public static func withoutUserInfo(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        guard let schemeEnd = text.range(of: "://"), schemeEnd.upperBound <= at else { return "(a URL with a password)" }
        return String(text[..<schemeEnd.upperBound]) + String(text[text.index(after: at)...])
    }

    /// An id as the contract spells them: anything else (`x/../health/api`) would name
    /// another path, so it is refused before a request is made.
    static func checked(_ id: String) throws(ProgimageClientError) -> String {
        guard ImageID(id) != nil else { throw .invalidRequest("not an image id: \(id)") }
        return id
    }

    private func makeRequest(_ method: String, _ path: String, query: String? = nil) -> URLRequest {
        var text = baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        var request = URLRequest(url: URL(string: text + path + (query.map { "?\($0)" } ?? ""))!)
        request.httpMethod = method
        request.timeoutInterval = 300
        if let apiKey, method == "POST" || method == "DELETE" {
            request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        }
        return request
    }

    /// The body of a 2xx answer; any other answer becomes the contract's error.
    private func send(_ request: URLRequest) async throws(ProgimageClientError) -> Data {
        try await exchange(request).body
    }

    /// A 2xx answer: its status, content type and body; any other answer becomes the
    /// contract's error.
    private func exchange(_ request: URLRequest) async throws(ProgimageClientError) -> (status: Int, contentType: String?, body: Data) {
        guard let url = request.url?.absoluteString else { throw .invalidRequest("no URL") }
        let headers = (request.allHTTPHeaderFields ?? [:]).map { "\($0.key): \($0.value)" }
        let body = request.httpBody.map { [UInt8]($0) }
        let method = request.httpMethod ?? "GET"
        let timeout = Int(request.timeoutInterval * 1000)
        let outcome = await withCheckedContinuation { (done: CheckedContinuation<CurlEasyHandle.Outcome, Never>) in
            DispatchQueue.global().async { [idle] in
                guard let handle = idle.take() ?? CurlEasyHandle() else {
                    done.resume(returning: .init(status: 0, body: [], failure: "libcurl could not be initialized", tooLarge: false))
                    return
                }
                // Only reads follow a redirect: libcurl repeats a POST answered 301–303 as a
                // request without its body (an upload behind an http→https redirect was
                // "400 empty_body" from the new place), and a write belongs to one server.
                let outcome = handle.perform(
                    method: method, url: url, headers: headers, body: body, timeoutMilliseconds: timeout,
                    limit: Self.maximumAnswerBytes, followRedirects: method == "GET" || method == "HEAD")
                idle.give(handle)
                done.resume(returning: outcome)
            }
        }
        if let failure = outcome.failure { throw .unavailable("\(Self.shown(request.url)): \(failure)") }
        guard !outcome.tooLarge else { throw .unreadableAnswer("an answer over \(Self.maximumAnswerBytes) bytes") }
        let data = Data(outcome.body)
        if (300..<400).contains(outcome.status) {
            let why = method == "GET" || method == "HEAD" ? "with nowhere to follow" : "which a write does not follow"
            throw .service(
                status: outcome.status, code: nil,
                message: "\(method) \(Self.shown(request.url)) answered with a redirect, \(why): use the base URL it leads to")
        }
        guard (200..<300).contains(outcome.status) else {
            struct Failure: Decodable {
                struct Detail: Decodable { let code: String; let message: String }
                let error: Detail
            }
            if let failure = try? JSONDecoder().decode(Failure.self, from: data) {
                throw .service(status: outcome.status, code: ErrorCode(rawValue: failure.error.code), message: failure.error.message)
            }
            throw .service(status: outcome.status, code: nil, message: String(decoding: data.prefix(200), as: UTF8.self))
        }
        return (outcome.status, outcome.contentType, data)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(ProgimageClientError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .unreadableAnswer("\(error)")
        }
    }

    /// Through a file handle, read to its end: `Data(contentsOf:)` refused a pipe
    /// (`/dev/stdin`, `<(…)`) as "You don't have permission".
    private func read(_ file: URL) throws(ProgimageClientError) -> Data {
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            return try handle.readToEnd() ?? Data()
        } catch {
            throw .invalidRequest("cannot read \(file.path): \(error.localizedDescription)")
        }
    }
}

/// `for try await image in client.images()`: every image, newest first, following the
/// service's cursor page by page.
public struct ImageSequence: AsyncSequence, Sendable {
    public typealias Element = ImageObject
    let client: ProgimageClient
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let client: ProgimageClient
        let pageSize: Int
        var buffer: [ImageObject] = []
        var cursor: String?
        var finished = false
        /// Cursors already followed: a server (or proxy) that hands one back again would
        /// have the listing page for ever (a black-box tester's fake server: one image
        /// 26,942 times in 20 s).
        var followed: Set<String> = []

        public mutating func next() async throws(ProgimageClientError) -> ImageObject? {
            while buffer.isEmpty {
                guard !finished else { return nil }
                let page = try await client.page(limit: pageSize, cursor: cursor)
                buffer = page.images.reversed()
                cursor = page.nextCursor
                finished = page.nextCursor == nil
                if let cursor, !followed.insert(cursor).inserted {
                    throw .unreadableAnswer("the list answered a cursor it had given before")
                }
            }
            return buffer.popLast()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(client: client, pageSize: pageSize) }
}

/// The client's idle libcurl handles, shared by its copies (a `ProgimageClient` is a value).
final class IdleHandles: Sendable {
    private let handles = Mutex<[CurlEasyHandle]>([])

    func take() -> CurlEasyHandle? { handles.withLock { $0.popLast() } }

    /// At most 16 kept: a burst of concurrent requests leaves no more open connections.
    func give(_ handle: CurlEasyHandle) { handles.withLock { if $0.count < 16 { $0.append(handle) } } }
}
