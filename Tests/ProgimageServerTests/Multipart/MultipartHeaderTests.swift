@testable import ProgimageServer
import Testing

@Suite("Multipart headers and parameters")
struct MultipartHeaderTests {
    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"),
        ("multipart/form-data; boundary=\"a b:c\"", "a b:c"),
        ("Multipart/Form-Data; BOUNDARY=xyz", "xyz"),
        ("multipart/form-data;charset=utf-8;boundary=----WebKitFormBoundaryZ", "----WebKitFormBoundaryZ"),
        ("multipart/form-data; boundary=\"q\\\"uote\"", "q\"uote"),
    ])
    func boundaryFromContentType(contentType: String, expected: String) {
        #expect(MultipartParser.boundary(fromContentType: contentType) == expected)
    }

    @Test(arguments: [
        "multipart/mixed; boundary=abc", "multipart/form-data", "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"", "image/jpeg", "",
    ])
    func noBoundary(contentType: String) {
        #expect(MultipartParser.boundary(fromContentType: contentType) == nil)
    }

    @Test func filenameWithSpacesAndEscapedQuotes() throws {
        let header = "Content-Disposition: form-data; name=\"file\"; filename=\"my \\\"best\\\" cat; 2.jpg\""
        let body = Array("--b\r\n\(header)\r\n\r\nx\r\n--b--".utf8)
        let part = try #require(try MultipartParser.parse(body, boundary: "b").first)
        #expect(part.filename == "my \"best\" cat; 2.jpg")
        #expect(part.name == "file")
    }

    @Test func extendedFilenameWins() {
        #expect(
            MultipartParser.dispositionFilename(
                "attachment; filename=\"naive.jpg\"; filename*=UTF-8''na%C3%AFve%20cat.jpg")
                == "naïve cat.jpg")
        #expect(
            MultipartParser.dispositionFilename("attachment; filename*=utf-8'en'%E2%82%AC.png; filename=\"euro.png\"")
                == "€.png")
        #expect(MultipartParser.dispositionFilename("attachment; filename*=ISO-8859-1''caf%E9.jpg") == "café.jpg")
        #expect(MultipartParser.dispositionFilename("attachment; filename*=\"UTF-8''quoted%21.gif\"") == "quoted!.gif")
    }

    /// Backslashes escape only a quote or a backslash: a Windows path an old browser sent
    /// keeps its separators, and the upload's filename is its last part.
    @Test func backslashesInAQuotedFilenameAreLiteralUnlessTheyEscape() {
        let windows = MultipartParser.dispositionFilename("form-data; name=\"file\"; filename=\"C:\\fakepath\\cat.jpg\"")
        #expect(windows == "C:\\fakepath\\cat.jpg")
        #expect(UploadHandler.cleanFilename(windows) == "cat.jpg")
        #expect(MultipartParser.dispositionFilename("form-data; filename=\"say \\\"hi\\\".png\"") == "say \"hi\".png")
        #expect(MultipartParser.dispositionFilename("form-data; filename=\"a\\\\b.png\"") == "a\\b.png")
    }

    /// Control characters of every kind go (C1 too: U+009B is a terminal's CSI), and the
    /// length is counted in code points, cut after a whole character.
    @Test func filenamesLoseControlsAndStopAt255CodePoints() {
        #expect(UploadHandler.cleanFilename("a\u{1B}[31m\u{9B}31m\u{85}b\u{7F}.png") == "a[31m31mb.png")
        let accents = "a" + String(repeating: "\u{301}", count: 100_000) + ".png"
        #expect(UploadHandler.cleanFilename(accents)?.unicodeScalars.count == 255)
        let letters = String(repeating: "e\u{301}", count: 200)
        let cut = UploadHandler.cleanFilename(letters)
        #expect(cut == String(repeating: "e\u{301}", count: 127))
        #expect(UploadHandler.cleanFilename(String(repeating: "x", count: 255)) == String(repeating: "x", count: 255))
        // A cut between whole characters keeps all 255 (one more had always gone).
        #expect(UploadHandler.cleanFilename(String(repeating: "x", count: 300)) == String(repeating: "x", count: 255))
        #expect(UploadHandler.cleanFilename(String(repeating: "\u{E9}", count: 256)) == String(repeating: "\u{E9}", count: 255))
        #expect(UploadHandler.cleanFilename(String(repeating: "a", count: 254) + "e\u{301}") == String(repeating: "a", count: 254))
        #expect(UploadHandler.cleanFilename("\u{85}\u{9F}") == nil)
    }

    @Test func undecodableExtendedFilenameFallsBack() {
        #expect(
            MultipartParser.dispositionFilename("attachment; filename*=UTF-8''bad%ZZ.jpg; filename=\"ok.jpg\"")
                == "ok.jpg")
        #expect(
            MultipartParser.dispositionFilename("attachment; filename*=UTF-8''%FF%FE.jpg; filename=\"ok.jpg\"")
                == "ok.jpg")
        #expect(
            MultipartParser.dispositionFilename("attachment; filename*=KOI8-R''x.jpg; filename=\"ok.jpg\"") == "ok.jpg")
        #expect(MultipartParser.dispositionFilename("attachment; filename*=no-apostrophes") == nil)
    }

    @Test func rawUploadDisposition() {
        #expect(MultipartParser.dispositionFilename("attachment; filename=\"cat.jpg\"") == "cat.jpg")
        #expect(MultipartParser.dispositionFilename("attachment;filename=cat.jpg") == "cat.jpg")
        #expect(MultipartParser.dispositionFilename("inline; FILENAME = \"cat.jpg\" ") == "cat.jpg")
        #expect(MultipartParser.dispositionFilename("attachment; filename=cat photo.jpg") == "cat photo.jpg")
        #expect(MultipartParser.dispositionFilename("attachment; filename=\"café.jpg\"") == "café.jpg")
        #expect(MultipartParser.dispositionFilename("attachment; filename=\"unterminated.jpg") == "unterminated.jpg")
        #expect(MultipartParser.dispositionFilename("attachment") == nil)
        #expect(MultipartParser.dispositionFilename("attachment; name=\"x\"") == nil)
        #expect(MultipartParser.dispositionFilename("") == nil)
    }

    @Test func parametersKeepTheirFirstValueAndIgnoreJunk() {
        let header = HeaderParameters("form-data; ; junk; name=\"first\"; name=\"second\"; =orphan; empty=")
        #expect(header.value == "form-data")
        #expect(header["name"] == "first")
        #expect(header["NAME"] == "first")
        #expect(header["empty"] == "")
        #expect(header["junk"] == nil)
    }
}
