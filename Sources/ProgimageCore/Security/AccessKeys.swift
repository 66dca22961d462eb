public import ProgimageAPI
import Digest

/// Write keys and the URL-signing key, compared in constant time.
public struct AccessKeys: Sendable {
    private let apiKeys: [[UInt8]]
    private let signingKey: [UInt8]?

    public init(apiKeys: [String], signingKey: String?) {
        self.apiKeys = apiKeys.map { Array($0.utf8) }
        self.signingKey = signingKey.map { Array($0.utf8) }
    }

    /// Writes are open when no key is configured; otherwise `Authorization: Bearer <key>`
    /// must match one of the keys (several, so a key can be rotated without downtime).
    public func authorizeWrite(authorization: String?) throws(ServiceError) {
        guard !apiKeys.isEmpty else { return }
        let denied = ServiceError(.unauthorized, "this request needs Authorization: Bearer <api key>")
        guard let authorization, authorization.hasPrefix("Bearer ") else { throw denied }
        let offered = Array(authorization.dropFirst("Bearer ".count).utf8)
        // Every key is compared, so the time taken does not reveal which one matched.
        var matched = false
        for key in apiKeys where SHA256.constantTimeEqual(key, offered) { matched = true }
        guard matched else { throw denied }
    }

    /// With a signing key, a cache miss needs `sig` = base64url(HMAC-SHA256(key, path)).
    public func verifySignature(path: String, signature: String?) throws(ServiceError) {
        guard let signingKey else { return }
        let expected = Array(Self.signature(key: signingKey, path: path).utf8)
        guard let signature, SHA256.constantTimeEqual(expected, Array(signature.utf8)) else {
            throw ServiceError(.badSignature, "this URL needs a valid sig parameter")
        }
    }

    public static func signature(key: [UInt8], path: String) -> String {
        Base64URL.encode(SHA256.hmac(key: key, message: Array(path.utf8)))
    }
}
