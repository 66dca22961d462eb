@testable import ProgimageDeployment
import ProgimageAPI
import Testing

@testable import ProgimageCore

extension Ingest {
    @Suite struct URLPartsTests {
        @Test(arguments: [
            ("https://example.com/cat.jpg", "https://example.com/cat.jpg"),
            ("HTTP://Example.COM:80/a/b.png?x=1&y=2#frag", "http://example.com/a/b.png?x=1&y=2"),
            ("http://example.com", "http://example.com/"),
            ("http://example.com?q", "http://example.com/?q"),
            ("http://example.com.:8080/", "http://example.com:8080/"),
            ("https://example.com:443/", "https://example.com/"),
            ("https://example.com:/x", "https://example.com/x"),
            ("  http://example.com/x  ", "http://example.com/x"),
            ("http://example.com/a b/é.jpg", "http://example.com/a%20b/%C3%A9.jpg"),
            ("http://example.com/100%/%41%zz", "http://example.com/100%25/%41%25zz"),
            ("http://example.com/a\\b<>\"{}|^`", "http://example.com/a%5Cb%3C%3E%22%7B%7D%7C%5E%60"),
            ("http://0x7f000001/", "http://127.0.0.1/"),
            ("http://127.1:8080/x", "http://127.0.0.1:8080/x"),
            ("http://[::FFFF:127.0.0.1]:81/", "http://[::ffff:7f00:1]:81/"),
            ("http://[2001:db8::1]/", "http://[2001:db8::1]/"),
            ("http://my_host.example/", "http://my_host.example/"),
            ("http://foo.0x1g/", "http://foo.0x1g/"),
        ])
        func canonicalURL(text: String, canonical: String) throws {
            #expect(try URLParts(text).url == canonical)
        }

        @Test func partsOfAURL() throws {
            let parts = try URLParts("https://Img.Example.com:8443/photos/cat.jpg?size=2")
            #expect(parts.scheme == "https")
            #expect(parts.host == .name("img.example.com"))
            #expect(parts.hostText == "img.example.com")
            #expect(parts.port == 8443)
            #expect(parts.pathAndQuery == "/photos/cat.jpg?size=2")
            let literal = try URLParts("http://[::1]/")
            #expect(literal.host == .address(.v6(1)))
            #expect(literal.hostText == "::1")
            #expect(literal.port == 80)
        }

        @Test(arguments: [
            ("http://example.com/photos/cat.jpg?x=/y.png", "cat.jpg"),
            ("http://example.com/my%20cat%2Fdog.jpg", "my cat/dog.jpg"),
            ("http://example.com/caf%C3%A9.png", "café.png"),
            ("http://example.com/a/", nil),
            ("http://example.com", nil),
            ("http://example.com/?name=cat.jpg", nil),
        ] as [(String, String?)])
        func lastPathSegment(text: String, segment: String?) throws {
            #expect(try URLParts(text).lastPathSegment == segment)
        }

        @Test(arguments: [
            "", "example.com/cat.jpg", "//example.com/cat.jpg", "ftp://example.com/x", "file:///etc/passwd",
            "gopher://127.0.0.1:70/", "dict://127.0.0.1:11211/", "javascript:alert(1)", "data:image/png;base64,AA==",
            "http:/example.com/", "http:example.com", "http://", "http:///x", "http://:80/",
            "http://user@example.com/", "http://user:pass@example.com/", "http://example.com@127.0.0.1/",
            "http://127.0.0.1:80@example.com/", "http://example.com\\@127.0.0.1/", "http://exa mple.com/",
            "http://example.com:0/", "http://example.com:65536/", "http://example.com:8o/", "http://example.com:1:2/",
            "http://example.com:+80/", "http://[::1/", "http://[::1]x/", "http://[fe80::1%25eth0]/", "http://[127.0.0.1]/",
            "http://%31%32%37.0.0.1/", "http://exämple.com/", "http://example..com/", "http://.example.com/",
            "http://example.com\n/", "http://1.2.3.4.5/", "http://256.0.0.1/", "http://foo.123/",
            "http://4294967296/", "http://example.com\u{0}/", "http://ex\u{7F}ample.com/",
            "http://" + String(repeating: "a", count: 64) + ".com/",
        ])
        func refused(text: String) {
            #expect(throws: ServiceError.self) { try URLParts(text) }
            do {
                _ = try URLParts(text)
            } catch {
                #expect(error.code == .forbiddenURL)
            }
        }
    }
}
