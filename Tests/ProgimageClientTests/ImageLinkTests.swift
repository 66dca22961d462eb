import Foundation
import ProgimageAPI
import ProgimageClient
import ProgimageCore
import Testing

/// The client prints and signs URLs with the server's own vocabulary: whatever spelling it
/// is given, the path is the one the server caches under, and the signature the one
/// `AccessKeys` checks.
@Suite struct ImageLinkTests {
    @Test(arguments: [
        ("resize:0200x/rotate:-90", ImageFormat.jpg, "/images/abcdefghijklmnop/resize:200x/rotate:270.jpg"),
        ("quality:70/blur:2.50", .webp, "/images/abcdefghijklmnop/blur:2.5/quality:70.webp"),
        ("/flip:vh/", .png, "/images/abcdefghijklmnop/flip:hv.png"),
        ("", .avif, "/images/abcdefghijklmnop.avif"),
    ])
    func pathsAreCanonical(operations: String, format: ImageFormat, path: String) throws {
        #expect(try ImageLink(id: "abcdefghijklmnop", operations: operations, format: format).path == path)
    }

    @Test func signaturesAreTheServers() throws {
        let link = try ImageLink(id: "abcdefghijklmnop", operations: "resize:200x", format: .webp)
        let keys = AccessKeys(apiKeys: [], signingKey: "secret")
        try keys.verifySignature(path: link.path, signature: link.signature(key: "secret"))
        let client = ProgimageClient(baseURL: URL(string: "http://img.example/")!, signingKey: "secret")
        #expect(client.url(for: link).absoluteString == "http://img.example\(link.path)?sig=\(link.signature(key: "secret"))")
    }

    @Test func uploadURLsAreTheServers() throws {
        let client = ProgimageClient(baseURL: URL(string: "http://img.example")!, signingKey: "secret")
        let url = try client.uploadURL(expires: 1_767_225_600, maxBytes: 5_000_000)
        #expect(url.absoluteString == "http://img.example/images?expires=1767225600&max_bytes=5000000&sig=7cRXxti2CB9mP_lb6GHs0IfOeXykZ5J3yAexxl1Xu_A")
        let grant = try AccessKeys(apiKeys: [], signingKey: "secret").verifyUploadGrant(query: url.query!, now: 1_767_225_000)
        #expect(grant.maxBytes == 5_000_000)
    }

    @Test func badOperationsAreRefusedBeforeAnyRequest() {
        #expect(throws: ProgimageClientError.self) { try ImageLink(id: "abcdefghijklmnop", operations: "resize:0x0", format: .png) }
    }
}
