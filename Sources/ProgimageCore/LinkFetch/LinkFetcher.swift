import ProgimageDeployment
internal import HTTPFetch
public import ProgimageAPI

/// Link ingest: fetches the image a URL points at without letting the URL reach anything
/// but the public Internet (or what `PROGIMAGE_FETCH_ALLOW_HOSTS` lists).
///
/// Each hop is checked from scratch: the URL is parsed strictly (`URLParts`), its host
/// resolved once with `getaddrinfo`, every address checked (`AddressPolicy`, unless the
/// allow list names the host or contains the address), and the connection pinned to a
/// checked address, so a DNS answer that changes between check and connect (rebinding)
/// changes nothing. At most 3 redirects; the time limit is for the whole chain.
public struct LinkFetcher: Sendable {
    static let maxRedirects = 3
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    private let allowList: HostAllowList
    private let timeout: Duration
    private let maxBytes: Int

    public init(allowHosts: [String], timeoutSeconds: Int, maxBytes: Int) {
        allowList = HostAllowList(allowHosts)
        timeout = .seconds(timeoutSeconds)
        self.maxBytes = maxBytes
    }

    /// The body of the first 2xx answer; `filename` is the requested URL's last path
    /// segment, percent-decoded (nil if empty); `finalURL` the canonical URL that answered.
    /// `limit`, when smaller, bounds the body instead of the upload limit (a signed upload
    /// URL's `max_bytes`).
    public func fetch(
        _ url: String, limit: Int? = nil
    ) throws(ServiceError) -> (bytes: [UInt8], filename: String?, finalURL: String) {
        let maxBytes = min(maxBytes, limit ?? maxBytes)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var target = try URLParts(url)
        let filename = target.lastPathSegment
        var redirects = 0
        while true {
            let response = try exchange(target, until: deadline, maxBytes: maxBytes)
            if (200...299).contains(response.status) {
                return (response.body, filename, target.url)
            }
            guard Self.redirectStatuses.contains(response.status) else {
                throw ServiceError(.fetchFailed, "\(target.url) answered \(response.status)")
            }
            guard redirects < Self.maxRedirects else {
                throw ServiceError(.fetchFailed, "more than \(Self.maxRedirects) redirects (last from \(target.url))")
            }
            guard let location = response.location else {
                throw ServiceError(.fetchFailed, "\(target.url) answered \(response.status) without a usable Location")
            }
            target = try URLParts(location)
            redirects += 1
        }
    }

    /// One hop: the checked addresses in the resolver's order, the next tried only when
    /// the previous refuses the connection.
    private func exchange(
        _ target: URLParts, until deadline: ContinuousClock.Instant, maxBytes: Int
    ) throws(ServiceError) -> FetchedResponse {
        let clock = ContinuousClock()
        var failure = HTTPFetchError.timeout
        for address in try checkedAddresses(target) {
            let left = deadline - clock.now
            guard left > .zero else { break }
            let fetcher = HTTPFetcher(timeoutMilliseconds: Int(left / .milliseconds(1)), maxBytes: maxBytes)
            do throws(HTTPFetchError) {
                let pinned = address.description
                return try fetcher.get(target.url, host: target.hostText, port: target.port, address: pinned)
            } catch .connectFailed(let message) {
                failure = .connectFailed(message)
            } catch {
                failure = error
                break
            }
        }
        throw serviceError(failure, target)
    }

    /// Resolves the host once (an address host is its own answer) and refuses the hop if
    /// any address is forbidden: which one a connection would use is not ours to pick.
    private func checkedAddresses(_ target: URLParts) throws(ServiceError) -> [IPAddress] {
        let addresses: [IPAddress]
        switch target.host {
        case .address(let address):
            addresses = [address]
        case .name(let name):
            do throws(HTTPFetchError) {
                addresses = try HostResolver.addresses(of: name).compactMap(IPAddress.init(bytes:))
            } catch {
                throw serviceError(error, target)
            }
            if allowList.permits(hostName: name) { return addresses }
        }
        for address in addresses where !allowList.permits(address) {
            if let reason = AddressPolicy.refusal(for: address) {
                let resolved = target.hostText == address.description ? "" : " (resolves to \(address))"
                throw ServiceError(.forbiddenURL, "\(target.hostText)\(resolved) is \(reason)")
            }
        }
        return addresses
    }

    private func serviceError(_ error: HTTPFetchError, _ target: URLParts) -> ServiceError {
        switch error {
        case .tooLarge(let limit):
            ServiceError(.payloadTooLarge, "\(target.url) is larger than \(limit) bytes")
        case .addressRefused:
            ServiceError(.forbiddenURL, "\(target.url): \(error)")
        case .timeout:
            ServiceError(.fetchFailed, "\(target.url): no complete answer within \(timeout)")
        case .resolveFailed, .connectFailed, .transferFailed:
            ServiceError(.fetchFailed, "\(target.url): \(error)")
        }
    }
}
