internal import CCurl

/// What one HTTP exchange answered.
public struct FetchedResponse: Equatable, Sendable {
    public let status: Int
    /// The `Location` header of a 3xx answer made absolute against the request URL; nil
    /// for other answers, or when absent or not a URL.
    public let location: String?
    /// The body of a 2xx answer; empty for any other status (never read).
    public let body: [UInt8]
}

/// One HTTP GET through libcurl, connecting to one numeric address the caller has already
/// checked, never to anything libcurl would resolve itself.
///
/// The pin is held twice: `CURLOPT_RESOLVE` gives libcurl the address for the URL's host
/// (no DNS, so no rebinding between the caller's check and the connect), and the
/// open-socket callback refuses any socket to another address or port. Redirects are not
/// followed (the caller checks each hop), proxies are off whatever the environment says,
/// and only http and https are spoken.
public struct HTTPFetcher: Sendable {
    /// For the whole exchange: connect, TLS, headers and body.
    public var timeoutMilliseconds: Int
    /// Largest accepted body; the transfer stops as soon as more arrives.
    public var maxBytes: Int

    public init(timeoutMilliseconds: Int, maxBytes: Int) {
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxBytes = maxBytes
    }

    /// GETs `url`, whose host is `host` and whose port is `port`, over a connection to
    /// `address` only. A `host` that is an address is written as `address` is (IPv6
    /// without brackets): it needs no `CURLOPT_RESOLVE` entry, and libcurl 7.88 cannot
    /// parse one for an IPv6 host.
    public func get(_ url: String, host: String, port: Int, address: String) throws(HTTPFetchError) -> FetchedResponse {
        var transfer = try CurlTransfer()
        try transfer.attach(limit: maxBytes, address: address, port: port)
        try transfer.set(CURLOPT_URL, url)
        try transfer.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try transfer.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        try transfer.set(CURLOPT_FOLLOWLOCATION, 0)
        try transfer.set(CURLOPT_PROXY, "")
        try transfer.set(CURLOPT_NOSIGNAL, 1)
        try transfer.set(CURLOPT_TIMEOUT_MS, max(1, timeoutMilliseconds))
        try transfer.set(CURLOPT_USERAGENT, "progimage link ingest")
        if host != address {
            let bracketed = address.contains(":") ? "[\(address)]" : address
            try transfer.set(CURLOPT_RESOLVE, list: "\(host):\(port):\(bracketed)")
        }

        let code = transfer.perform()
        if transfer.addressRefused { throw .addressRefused }
        let location = (300...399).contains(transfer.responseCode) ? transfer.location(relativeTo: url) : nil
        switch (code, transfer.stop) {
        case (CURLE_OK, _):
            return FetchedResponse(status: transfer.responseCode, location: location, body: transfer.body)
        case (CURLE_WRITE_ERROR, Int32(CCURL_STOP_NOT_SUCCESS)):
            return FetchedResponse(status: transfer.responseCode, location: location, body: [])
        case (_, Int32(CCURL_STOP_TOO_LARGE)):
            throw .tooLarge(limit: maxBytes)
        case (_, Int32(CCURL_STOP_NO_MEMORY)):
            // Otherwise curl's own text for it, "failure writing output", says nothing.
            throw .transferFailed("no memory for the body")
        case (CURLE_OPERATION_TIMEDOUT, _):
            throw .timeout
        case (CURLE_COULDNT_CONNECT, _), (CURLE_SSL_CONNECT_ERROR, _), (CURLE_PEER_FAILED_VERIFICATION, _):
            throw .connectFailed(transfer.message(for: code))
        default:
            throw .transferFailed(transfer.message(for: code))
        }
    }
}
