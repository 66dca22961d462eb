import Digest
import Testing

@testable import ObjectStorage

/// The parts of an S3 request this code builds itself (libcurl signs the rest): SigV4's
/// canonical URI wants RFC 3986 encoding with upper-case hex, and `Content-MD5` standard
/// base64. Checked against RFC 4648's test vectors and OpenSSL's MD5.
@Suite struct S3RequestEncodingTests {
    @Test(arguments: [
        ("originals/AbC-_.~09", "originals%2FAbC-_.~09"), ("a b+c", "a%20b%2Bc"), ("é", "%C3%A9"), ("", ""),
    ])
    func pathSegmentsAreEncodedAsSigV4Wants(segment: String, encoded: String) {
        #expect(S3Client.encode(segment) == encoded)
    }

    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func base64MatchesRFC4648(input: String, output: String) {
        #expect(S3Client.base64(Array(input.utf8)) == output)
    }

    @Test func contentMD5OfAKnownBody() {
        // `printf hello | openssl md5 -binary | base64`
        #expect(S3Client.base64(MD5.hash(Array("hello".utf8))) == "XUFAKrxLKna5cZ2REBfFkg==")
    }
}
