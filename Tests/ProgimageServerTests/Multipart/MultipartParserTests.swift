import ProgimageAPI
import ProgimageServer
import Testing

@Suite("MultipartParser framing")
struct MultipartParserTests {
    static let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"

    /// Bytes that trip naive parsers: NUL, CRLF, dashes, and near-misses of the delimiter.
    static let hostileBody: [UInt8] =
        [0x00, 0xFF, 0xD8, 0x0D, 0x0A, 0x2D, 0x2D, 0x00] + Array("\r\n--".utf8) + Array("--\(boundary)".utf8)
        + Array("\r\n--\(boundary)X".utf8) + Array("\r\n--\(boundary.dropLast())".utf8) + [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00,
        ]

    @Test func severalPartsWithBinaryBodies() throws {
        let image = MultipartFixture.noise(count: 4096, seed: 7)
        let body = MultipartFixture.body(
            boundary: Self.boundary,
            parts: [
                MultipartFixture.fieldPart(name: "title", value: "hello"),
                MultipartFixture.filePart(filename: "a.jpg", body: Self.hostileBody),
                MultipartFixture.filePart(name: "second", filename: "b.png", type: "image/png", body: image),
            ])
        let parts = try MultipartParser.parse(body, boundary: Self.boundary)
        try #require(parts.count == 3)
        #expect(parts[0].name == "title")
        #expect(parts[0].filename == nil)
        #expect(parts[0].contentType == nil)
        #expect(Array(parts[0].body) == Array("hello".utf8))
        #expect(parts[1].name == "file")
        #expect(parts[1].filename == "a.jpg")
        #expect(parts[1].contentType == "image/jpeg")
        #expect(Array(parts[1].body) == Self.hostileBody)
        #expect(parts[2].name == "second")
        #expect(parts[2].contentType == "image/png")
        #expect(Array(parts[2].body) == image)
    }

    @Test func bodiesAreSlicesOfTheInput() throws {
        let body = MultipartFixture.body(boundary: "b", parts: [MultipartFixture.fieldPart(name: "x", value: "abc")])
        let part = try #require(try MultipartParser.parse(body, boundary: "b").first)
        #expect(body[part.body.startIndex..<part.body.endIndex].elementsEqual(Array("abc".utf8)))
        #expect(part.body.endIndex == body.count - "\r\n--b--".utf8.count)
    }

    @Test func preambleAndEpilogueAreIgnored() throws {
        let body = MultipartFixture.body(
            boundary: "xyz", parts: [MultipartFixture.fieldPart(name: "a", value: "1")],
            preamble: Array("This is a preamble with --xyz inside it".utf8),
            epilogue: Array(
                "\r\nepilogue\r\n--xyz\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--xyz--".utf8))
        let parts = try MultipartParser.parse(body, boundary: "xyz")
        #expect(parts.map(\.name) == ["a"])
        #expect(Array(parts[0].body) == Array("1".utf8))
    }

    @Test func emptyPartBodies() throws {
        let body = MultipartFixture.body(
            boundary: "b",
            parts: [
                MultipartFixture.filePart(filename: "", type: "application/octet-stream", body: []),
                MultipartFixture.Part(headers: [], body: []),
                MultipartFixture.fieldPart(name: "last", value: ""),
            ])
        let parts = try MultipartParser.parse(body, boundary: "b")
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { $0.body.isEmpty })
        #expect(parts[0].filename == "")
        #expect(parts[1].name == nil)
        #expect(parts[2].name == "last")
    }

    @Test func partWithNeitherHeadersNorBody() throws {
        let parts = try MultipartParser.parse(Array("--b\r\n\r\n--b--".utf8), boundary: "b")
        #expect(parts.count == 1)
        #expect(parts.first?.body.isEmpty == true)
    }

    @Test func closeDelimiterAloneHasNoParts() throws {
        #expect(try MultipartParser.parse(Array("--b--\r\n".utf8), boundary: "b").isEmpty)
    }

    @Test func headerNamesAreCaseInsensitiveAndBareLFIsTolerated() throws {
        let text =
            "--b\nCONTENT-DISPOSITION: form-data; NAME=\"f\"; FileName=\"x.gif\"\n"
            + "content-type:image/gif \n\nGIF\r\n--b--"
        let part = try #require(try MultipartParser.parse(Array(text.utf8), boundary: "b").first)
        #expect(part.name == "f")
        #expect(part.filename == "x.gif")
        #expect(part.contentType == "image/gif")
        #expect(Array(part.body) == Array("GIF".utf8))
    }

    @Test func transportPaddingAfterTheBoundary() throws {
        let text = "--b \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b  \r\n\r\nw\r\n--b--"
        let parts = try MultipartParser.parse(Array(text.utf8), boundary: "b")
        #expect(parts.map { Array($0.body) } == [Array("v".utf8), Array("w".utf8)])
    }

    @Test func foldedHeaderLinesAreJoined() throws {
        let text = "--b\r\nContent-Disposition: form-data;\r\n name=\"folded\"\r\n\r\nv\r\n--b--"
        #expect(try MultipartParser.parse(Array(text.utf8), boundary: "b").first?.name == "folded")
    }

    @Test func quotedBoundaryWithSpaces() throws {
        let contentType = "multipart/form-data; boundary=\"simple boundary\""
        let boundary = try #require(MultipartParser.boundary(fromContentType: contentType))
        let body = MultipartFixture.body(
            boundary: boundary, parts: [MultipartFixture.fieldPart(name: "q", value: "ok")])
        #expect(try MultipartParser.parse(body, boundary: boundary).first?.name == "q")
    }

    @Test func missingClosingBoundaryThrows() {
        var body = MultipartFixture.body(boundary: "b", parts: [MultipartFixture.fieldPart(name: "a", value: "1")])
        body.removeLast("--b--".utf8.count)
        expectBadRequest(body, boundary: "b")
        expectBadRequest(Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1".utf8), boundary: "b")
        expectBadRequest(
            Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--bb--".utf8), boundary: "b")
    }

    @Test func missingOpeningBoundaryThrows() {
        expectBadRequest(Array("no boundary here at all".utf8), boundary: "b")
        expectBadRequest([], boundary: "b")
        expectBadRequest(Array("--other\r\n\r\nx\r\n--other--".utf8), boundary: "b")
    }

    @Test func partWithoutHeaderTerminatorThrows() {
        expectBadRequest(Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n--b--".utf8), boundary: "b")
        expectBadRequest(Array("--b\r\nContent-Type: text/plain\r\n--b--".utf8), boundary: "b")
    }

    @Test func emptyOrMultilineBoundaryThrows() {
        expectBadRequest(Array("--\r\n\r\n--".utf8), boundary: "")
        expectBadRequest(Array("--a\r\nb\r\n\r\nx\r\n--a\r\nb--".utf8), boundary: "a\r\nb")
    }

    private func expectBadRequest(_ body: [UInt8], boundary: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        let error = #expect(throws: ServiceError.self, sourceLocation: sourceLocation) {
            try MultipartParser.parse(body, boundary: boundary)
        }
        #expect(error?.code == .badRequest, sourceLocation: sourceLocation)
    }
}
