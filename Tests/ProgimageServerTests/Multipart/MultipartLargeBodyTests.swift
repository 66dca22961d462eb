import Testing

@testable import ProgimageServer

/// Upload-sized bodies. Nothing here asserts time (shared CI machines vary): the search
/// counts the body bytes it reads, and the worst cases must stay within a small multiple
/// of the body's length, which a quadratic search would overrun by orders of magnitude.
@Suite("MultipartParser at scale")
struct MultipartLargeBodyTests {
    @Test func twentyMegabyteBody() throws {
        let boundary = "----WebKitFormBoundaryLargeUpload"
        let image = MultipartFixture.noise(count: 20 * 1024 * 1024, seed: 20)
        let body = MultipartFixture.body(
            boundary: boundary,
            parts: [
                MultipartFixture.fieldPart(name: "note", value: "big"),
                MultipartFixture.filePart(filename: "big.jpg", body: image),
            ])
        var bytesRead = 0
        let parts = try MultipartParser.parse(body, boundary: boundary, bytesRead: &bytesRead)
        try #require(parts.count == 2)
        // Horspool skips most of a random body: far fewer bytes read than it holds.
        #expect(bytesRead < body.count / 4, "read \(bytesRead) bytes of a \(body.count)-byte body")
        let file = parts[1]
        #expect(file.body.count == image.count)
        // The slice's bounds pin every byte: it views the input, which holds `image` exactly there.
        #expect(file.body.endIndex == body.count - "\r\n--\(boundary)--".utf8.count)
        #expect(file.body.prefix(4096).elementsEqual(image.prefix(4096)))
        #expect(file.body.suffix(4096).elementsEqual(image.suffix(4096)))
    }

    /// A body made of near-misses of the delimiter, the worst case for the search.
    @Test(arguments: ["\r\n--boundar", "\r\n--boundaryX", "\r\n\r\n----"])
    func bodyOfDelimiterNearMisses(unit: String) throws {
        let payload = Array(repeatElement(Array(unit.utf8), count: 200_000).joined())
        let body = MultipartFixture.body(
            boundary: "boundary", parts: [MultipartFixture.filePart(filename: "n", body: payload)])
        var bytesRead = 0
        let parts = try MultipartParser.parse(body, boundary: "boundary", bytesRead: &bytesRead)
        #expect(parts.count == 1)
        #expect(parts.first?.body.count == payload.count)
        #expect(bytesRead <= 3 * body.count, "read \(bytesRead) bytes of a \(body.count)-byte body")
    }

    /// A client chooses the boundary, so it can pick one that agrees with its body almost
    /// everywhere; the search must stay linear even then.
    @Test func hostileBoundaryOverMatchingBody() throws {
        let boundary = String(repeating: "a", count: 70)
        let payload = [UInt8](repeating: UInt8(ascii: "a"), count: 4 * 1024 * 1024)
        let body = MultipartFixture.body(
            boundary: boundary, parts: [MultipartFixture.filePart(filename: "a", body: payload)])
        var bytesRead = 0
        #expect(try MultipartParser.parse(body, boundary: boundary, bytesRead: &bytesRead).first?.body.count == payload.count)
        #expect(bytesRead <= 3 * body.count, "read \(bytesRead) bytes of a \(body.count)-byte body")
    }
}
