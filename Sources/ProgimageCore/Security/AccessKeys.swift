public import ProgimageAPI
import Digest

/// Write keys and the URL-signing key, compared in constant time.
public struct AccessKeys: Sendable {
    private let apiKeys: [[UInt8]]
    private let signingKey: [UInt8]?
    private let openWritesWithoutKey: Bool

    public init(apiKeys: [String], signingKey: String?, openWritesWithoutKey: Bool = true) {
        self.apiKeys = apiKeys.map { Array($0.utf8) }
        self.signingKey = signingKey.map { Array($0.utf8) }
        self.openWritesWithoutKey = openWritesWithoutKey
    }

    /// With keys, `Authorization: Bearer <key>` must match one of them (several, so a key
    /// can be rotated without downtime). Without, writes are open only where that was
    /// chosen (`make run`, or `PROGIMAGE_OPEN_WRITES=1`).
    public func authorizeWrite(authorization: String?) throws(ServiceError) {
        guard !apiKeys.isEmpty else {
            guard openWritesWithoutKey else {
                throw ServiceError(
                    .unauthorized, "writes need a key and none is configured: set PROGIMAGE_API_KEY (or PROGIMAGE_OPEN_WRITES=1)")
            }
            return
        }
        let denied = ServiceError(.unauthorized, "this request needs Authorization: Bearer <api key>")
        guard let authorization, let offered = Self.bearerToken(authorization) else { throw denied }
        // Every key is compared, so the time taken does not reveal which one matched.
        var matched = false
        for key in apiKeys where SHA256.constantTimeEqual(key, offered) { matched = true }
        guard matched else { throw denied }
    }

    /// The token of `Bearer <token>`. The scheme is case-insensitive (RFC 9110 §11.1:
    /// `bearer` and `BEARER` are the same scheme) and one or more spaces separate it from
    /// the token (`auth-scheme 1*SP token68`).
    static func bearerToken(_ authorization: String) -> [UInt8]? {
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
            zip(bytes, scheme).allSatisfy({ offered, wanted in offered | 0x20 == wanted })
        else { return nil }
        return Array(bytes[scheme.count...].drop { $0 == UInt8(ascii: " ") })
    }

    /// With a signing key, a cache miss needs `sig` = base64url(HMAC-SHA256(key, path)).
    public func verifySignature(path: String, signature: String?) throws(ServiceError) {
        guard let signingKey else { return }
        let expected = Array(Self.signature(key: signingKey, path: path).utf8)
        guard let signature, SHA256.constantTimeEqual(expected, Array(signature.utf8)) else {
            throw ServiceError(.badSignature, "this URL needs a valid sig parameter")
        }
    }

    /// The signature of `path` when signing is on (for redirects the service makes itself).
    public func signatureIfSigning(path: String) -> String? {
        signingKey.map { Self.signature(key: $0, path: path) }
    }

    public static func signature(key: [UInt8], path: String) -> String {
        Base64URL.encode(SHA256.hmac(key: key, message: Array(path.utf8)))
    }

    /// What a signed upload URL allows: uploads without an API key until it expires, each
    /// request body at most `maxBytes` when it says so.
    public struct UploadGrant: Sendable, Equatable {
        public let expires: Int
        public let maxBytes: Int?
    }

    /// `POST /images?expires={unix seconds}[&max_bytes={n}]&sig={s}`, minted by the site's
    /// backend so a browser can upload without ever holding the API key, where `s` is
    /// base64url (unpadded) of HMAC-SHA256(signing key, `POST /images?` followed by the
    /// query up to, not including, `&sig=`). Valid any number of times until `expires`.
    public func verifyUploadGrant(query: String, now: Int) throws(ServiceError) -> UploadGrant {
        let refused = ServiceError(.badSignature, "this upload URL is not validly signed")
        guard let signingKey else { throw ServiceError(.badSignature, "signed upload URLs need PROGIMAGE_SIGNING_KEY") }
        guard let marker = query.firstRange(of: "&sig=") else { throw refused }
        let signed = String(query[..<marker.lowerBound])
        // Decoded as an image URL's `sig` is (`%2D` for `-`): a proxy that normalises query
        // strings must not break one and not the other.
        let signature = PercentDecoding.decode(query[marker.upperBound...], plusAsSpace: true)
        var fields = signed.split(separator: "&", omittingEmptySubsequences: false).map { $0.split(separator: "=", maxSplits: 1) }
        guard let first = fields.first, first.count == 2, first[0] == "expires", let expires = Int(first[1]), expires > 0 else {
            throw refused
        }
        fields.removeFirst()
        var maxBytes: Int?
        if let second = fields.first {
            guard fields.count == 1, second.count == 2, second[0] == "max_bytes", let value = Int(second[1]), value > 0 else { throw refused }
            maxBytes = value
        }
        let expected = Array(Self.uploadSignature(key: signingKey, query: signed).utf8)
        guard SHA256.constantTimeEqual(expected, Array(signature.utf8)) else { throw refused }
        // `now` is whole seconds: at `expires` itself the URL has expired (a black-box tester
        // uploaded 0.84 s past it with `now <= expires`).
        guard now < expires else { throw ServiceError(.badSignature, "this upload URL expired") }
        return UploadGrant(expires: expires, maxBytes: maxBytes)
    }

    public static func uploadSignature(key: [UInt8], query: String) -> String {
        Base64URL.encode(SHA256.hmac(key: key, message: Array("POST /images?\(query)".utf8)))
    }
}
