import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct GIFHeaderTests {
    @Test func readsLogicalScreen() {
        #expect(
            readHeaderSize(
                HeaderBytes.ascii("GIF89a") + HeaderBytes.le16(65_535) + HeaderBytes.le16(2) + [0, 0, 0], .gif) == [
                    65_535, 2,
                ])
        #expect(
            readHeaderSize(HeaderBytes.ascii("GIF87a") + HeaderBytes.le16(1) + HeaderBytes.le16(300), .gif) == [1, 300])
    }

    @Test func zeroOrTruncatedIsRefused() {
        expectCorruptHeader(HeaderBytes.ascii("GIF89a") + HeaderBytes.le16(0) + HeaderBytes.le16(5), .gif)
        expectCorruptHeader(HeaderBytes.ascii("GIF89a") + HeaderBytes.le16(5) + [0], .gif)
        expectCorruptHeader(HeaderBytes.ascii("GIF90a") + HeaderBytes.le16(5) + HeaderBytes.le16(5), .gif)
    }
}

@Suite struct WebPHeaderTests {
    static func riff(_ chunk: String, _ data: [UInt8]) -> [UInt8] {
        let body = HeaderBytes.ascii("WEBP") + HeaderBytes.ascii(chunk) + HeaderBytes.le32(UInt32(data.count)) + data
        return HeaderBytes.ascii("RIFF") + HeaderBytes.le32(UInt32(body.count)) + body
    }

    static func vp8(width: Int, height: Int, frameTag: UInt8 = 0x10) -> [UInt8] {
        riff(
            "VP8 ",
            [frameTag, 0x02, 0x00, 0x9D, 0x01, 0x2A] + HeaderBytes.le16(width) + HeaderBytes.le16(height) + [0, 0])
    }

    static func vp8l(bits: UInt32) -> [UInt8] { riff("VP8L", [0x2F] + HeaderBytes.le32(bits) + [0, 0]) }

    @Test func lossy() {
        #expect(readHeaderSize(Self.vp8(width: 16_383, height: 1), .webp) == [16_383, 1])
        // The top two bits of each size are a scaling hint, not part of the size.
        #expect(readHeaderSize(Self.vp8(width: 0xC000 | 100, height: 0x4000 | 50), .webp) == [100, 50])
    }

    @Test func lossyRefusals() {
        expectCorruptHeader(Self.vp8(width: 10, height: 10, frameTag: 0x11), .webp)  // interframe
        expectCorruptHeader(Self.vp8(width: 0, height: 10), .webp)
        expectCorruptHeader(Self.riff("VP8 ", [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2B, 1, 0, 1, 0]), .webp)  // start code
        expectCorruptHeader(Array(Self.vp8(width: 10, height: 10).prefix(28)), .webp)
    }

    @Test func lossless() {
        #expect(readHeaderSize(Self.vp8l(bits: 0), .webp) == [1, 1])
        #expect(readHeaderSize(Self.vp8l(bits: 0x0FFF_FFFF), .webp) == [16_384, 16_384])
        #expect(readHeaderSize(Self.vp8l(bits: 99 | 29 << 14 | 1 << 28), .webp) == [100, 30])
        expectCorruptHeader(Self.vp8l(bits: 1 << 29), .webp)  // version 1
        expectCorruptHeader(Self.riff("VP8L", [0x2E, 0, 0, 0, 0]), .webp)
    }

    @Test func extendedCanvas() {
        let bytes = Self.riff("VP8X", [0x10, 0, 0, 0] + HeaderBytes.le24(0xFF_FFFF) + HeaderBytes.le24(0))
        #expect(readHeaderSize(bytes, .webp) == [16_777_216, 1])
        expectCorruptHeader(Self.riff("VP8X", [0x10, 0, 0, 0, 1, 0, 0, 1, 0]), .webp)
    }

    @Test func otherChunksAndSignatures() {
        expectCorruptHeader(Self.riff("ALPH", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), .webp)
        expectCorruptHeader(HeaderBytes.ascii("RIFF") + [0, 0, 0, 0] + HeaderBytes.ascii("WAVEfmt "), .webp)
        expectCorruptHeader(HeaderBytes.ascii("RIFF") + [0, 0, 0, 0] + HeaderBytes.ascii("WEBP"), .webp)
    }
}
