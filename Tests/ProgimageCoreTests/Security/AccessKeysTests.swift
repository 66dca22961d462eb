import Foundation
@testable import ProgimageDeployment
import ProgimageAPI
import Testing

@testable import ProgimageCore

@Suite struct AccessKeysTests {
    /// The README's worked example, computed independently with
    /// `printf %s PATH | openssl dgst -sha256 -hmac secret -binary | basenc --base64url`.
    @Test func signatureMatchesTheDocumentedExample() throws {
        let path = "/images/k3J9x0PqLm2vT8wZ/resize:200x.webp"
        #expect(AccessKeys.signature(key: Array("secret".utf8), path: path) == "PvRLgrfIKzcVPN5aDB2-DCM9ocA9XFL1Ob569eHH_ew")
        let keys = AccessKeys(apiKeys: [], signingKey: "secret")
        try keys.verifySignature(path: path, signature: "PvRLgrfIKzcVPN5aDB2-DCM9ocA9XFL1Ob569eHH_ew")
        #expect(throws: ServiceError.self) { try keys.verifySignature(path: path, signature: "PvRLgrfIKzcVPN5aDB2-DCM9ocA9XFL1Ob569eHH_eW") }
        #expect(throws: ServiceError.self) { try keys.verifySignature(path: path + "x", signature: "PvRLgrfIKzcVPN5aDB2-DCM9ocA9XFL1Ob569eHH_ew") }
        #expect(throws: ServiceError.self) { try keys.verifySignature(path: path, signature: nil) }
    }

    @Test func anyConfiguredKeyAuthorizesWrites() throws {
        let keys = AccessKeys(apiKeys: ["old-key", "new-key"], signingKey: nil)
        try keys.authorizeWrite(authorization: "Bearer old-key")
        try keys.authorizeWrite(authorization: "Bearer new-key")
        // RFC 9110 §11.1: the scheme is case-insensitive, then `1*SP` before the token.
        for good in ["bearer old-key", "BEARER new-key", "bEaReR old-key", "Bearer  new-key"] {
            try keys.authorizeWrite(authorization: good)
        }
        for bad in [
            nil, "", "Bearer", "Bearer ", "Bearer other", "Basic old-key", "Bearer old-key ", "Bearerold-key", "Bearer\told-key",
            "Bearer: old-key", "Bearers old-key",
        ] {
            #expect(throws: ServiceError(.unauthorized, "this request needs Authorization: Bearer <api key>")) {
                try keys.authorizeWrite(authorization: bad)
            }
        }
        try AccessKeys(apiKeys: [], signingKey: nil).authorizeWrite(authorization: nil)
    }

    /// The production units set PROGIMAGE_OPEN_WRITES=0: no key configured, no writes.
    @Test func withoutKeysWritesAreOpenOnlyWhereChosen() throws {
        let closed = AccessKeys(apiKeys: [], signingKey: nil, openWritesWithoutKey: false)
        #expect(throws: ServiceError.self) { try closed.authorizeWrite(authorization: nil) }
        #expect(throws: ServiceError.self) { try closed.authorizeWrite(authorization: "Bearer anything") }
        let config = try ServiceConfiguration(environment: ["PROGIMAGE_OPEN_WRITES": "0"])
        #expect(!config.openWritesWithoutKey)
        #expect(try ServiceConfiguration(environment: [:]).openWritesWithoutKey)
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration(environment: ["PROGIMAGE_OPEN_WRITES": "yes"]) }
    }

    /// Valid until `expires`: the second before it, not the second it names.
    @Test func anUploadURLExpiresAtItsSecond() throws {
        let keys = AccessKeys(apiKeys: [], signingKey: "secret")
        let query = "expires=1767225600&sig=" + AccessKeys.uploadSignature(key: Array("secret".utf8), query: "expires=1767225600")
        #expect(try keys.verifyUploadGrant(query: query, now: 1_767_225_599).expires == 1_767_225_600)
        #expect(throws: ServiceError.self) { try keys.verifyUploadGrant(query: query, now: 1_767_225_600) }
    }

    /// The signature is percent-decoded, as an image URL's `sig` is: `%2D` for `-`, `%5F`
    /// for `_` (a black-box probe found one refused, the other accepted).
    @Test func anUploadSignatureIsReadPercentDecoded() throws {
        let keys = AccessKeys(apiKeys: [], signingKey: "secret")
        var signature = ""
        var expires = 1_767_225_600
        // A signature holding both characters that may be escaped.
        while !(signature.contains("-") && signature.contains("_")) {
            expires += 1
            signature = AccessKeys.uploadSignature(key: Array("secret".utf8), query: "expires=\(expires)")
        }
        let escaped = signature.replacingOccurrences(of: "-", with: "%2D").replacingOccurrences(of: "_", with: "%5f")
        #expect(try keys.verifyUploadGrant(query: "expires=\(expires)&sig=\(escaped)", now: 1_767_225_000).expires == expires)
        let tampered = escaped.replacingOccurrences(of: "%2D", with: "%2E")
        #expect(throws: ServiceError.self) { try keys.verifyUploadGrant(query: "expires=\(expires)&sig=\(tampered)", now: 1_767_225_000) }
    }
}
