import ProgimageAPI
import Testing

/// One decoder, two policies: URL parts keep a bad escape as written; RFC 8187 values
/// refuse it. Only hex digits make an escape.
@Suite struct PercentDecodingTests {
    @Test(arguments: [
        ("cat%20photo.jpg", "cat photo.jpg"), ("na%C3%AFve", "naïve"), ("100%", "100%"), ("%zz%2", "%zz%2"),
        ("%+1x", "%+1x"), ("%-f", "%-f"), ("a+b", "a+b"), ("%2B", "+"),
    ])
    func lenientKeepsBadEscapes(encoded: String, decoded: String) {
        #expect(PercentDecoding.decode(encoded) == decoded)
    }

    @Test func plusAsSpaceOnlyWhenAsked() {
        #expect(PercentDecoding.decode("a+b%2Bc", plusAsSpace: true) == "a b+c")
    }

    @Test func strictRefusesBadEscapes() {
        #expect(PercentDecoding.bytes("caf%E9".utf8, strict: true) == [0x63, 0x61, 0x66, 0xE9])
        for bad in ["bad%ZZ", "end%", "end%4", "%+1", "% 1"] {
            #expect(PercentDecoding.bytes(bad.utf8, strict: true) == nil, "\(bad)")
        }
    }
}
