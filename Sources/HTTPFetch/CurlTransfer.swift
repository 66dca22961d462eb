internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// `curl_global_init` before any handle, once per process (a lazy global is initialized
/// once): for `CurlTransfer` and `CurlEasyHandle` alike.
let curlGlobalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

/// One libcurl easy handle and the C state its callbacks write into (`ccurl_transfer`
/// in shim.h), owned by this value alone and freed exactly once.
struct CurlTransfer: ~Copyable {
    private let state: UnsafeMutablePointer<ccurl_transfer>
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    init() throws(HTTPFetchError) {
        guard curlGlobalInit, let easy = curl_easy_init() else {
            throw .transferFailed("libcurl could not be initialized")
        }
        state = .allocate(capacity: 1)
        state.initialize(to: ccurl_transfer())
        state.pointee.easy = easy
    }

    deinit {
        curl_easy_cleanup(state.pointee.easy)
        for list in lists { curl_slist_free_all(list) }
        free(state.pointee.body)
        state.deallocate()
    }

    /// Installs the write and open-socket callbacks: a body of at most `limit` bytes, and
    /// sockets only to `address` (numeric) on `port`.
    func attach(limit: Int, address: String, port: Int) throws(HTTPFetchError) {
        state.pointee.limit = limit
        guard ccurl_transfer_pin(state, address, UInt16(port)) == 1 else {
            throw .transferFailed("\(address) is not a numeric address")
        }
        try check(ccurl_transfer_attach(state))
    }

    func set(_ option: CURLoption, _ value: Int) throws(HTTPFetchError) {
        try check(ccurl_setopt_long(state.pointee.easy, option, value))
    }

    /// libcurl copies string options (since 7.17), so the argument need not outlive the call.
    func set(_ option: CURLoption, _ value: String) throws(HTTPFetchError) {
        try check(ccurl_setopt_string(state.pointee.easy, option, value))
    }

    /// A one-entry `curl_slist`, kept alive until `deinit` as libcurl requires.
    mutating func set(_ option: CURLoption, list entry: String) throws(HTTPFetchError) {
        guard let list = curl_slist_append(nil, entry) else { throw .transferFailed("out of memory") }
        lists.append(list)
        try check(ccurl_setopt_slist(state.pointee.easy, option, list))
    }

    /// `curl_easy_perform`: the whole exchange, on this thread.
    func perform() -> CURLcode { curl_easy_perform(state.pointee.easy) }

    var responseCode: Int {
        var code = 0
        _ = ccurl_getinfo_long(state.pointee.easy, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// The answer's `Location` header made absolute against `base` by libcurl's URL
    /// parser (`curl_url_set` on a handle holding `base`: RFC 3986 reference resolution).
    /// Read from the stored headers, so it survives a transfer stopped before its body.
    func location(relativeTo base: String) -> String? {
        var header: UnsafeMutablePointer<curl_header>?
        guard curl_easy_header(state.pointee.easy, "Location", 0, UInt32(CURLH_HEADER), -1, &header) == CURLHE_OK,
            let value = header?.pointee.value, let url = curl_url()
        else { return nil }
        defer { curl_url_cleanup(url) }
        let flags = UInt32(CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE)
        var absolute: UnsafeMutablePointer<CChar>?
        guard curl_url_set(url, CURLUPART_URL, base, flags) == CURLUE_OK,
            curl_url_set(url, CURLUPART_URL, value, flags) == CURLUE_OK,
            curl_url_get(url, CURLUPART_URL, &absolute, 0) == CURLUE_OK, let absolute
        else { return nil }
        defer { curl_free(absolute) }
        return String(cString: absolute)
    }

    var stop: Int32 { state.pointee.stop }
    var addressRefused: Bool { state.pointee.address_refused != 0 }
    var body: [UInt8] { Array(UnsafeBufferPointer(start: state.pointee.body, count: state.pointee.length)) }

    /// `CURLOPT_ERRORBUFFER`'s text, or `curl_easy_strerror` when libcurl left it empty.
    func message(for code: CURLcode) -> String {
        let detail = withUnsafePointer(to: &state.pointee.error) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(CURL_ERROR_SIZE)) { String(cString: $0) }
        }
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    /// libcurl's convention → Swift's: anything but `CURLE_OK` throws.
    private func check(_ code: CURLcode) throws(HTTPFetchError) {
        guard code == CURLE_OK else { throw .transferFailed(message(for: code)) }
    }
}
