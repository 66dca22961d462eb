import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct PNGHeaderTests {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func chunk(_ type: String, _ data: [UInt8], crc: UInt32? = nil) -> [UInt8] {
        let body = HeaderBytes.ascii(type) + data
        return HeaderBytes.be32(UInt32(data.count)) + body + HeaderBytes.be32(crc ?? HeaderBytes.crc32(body))
    }

    static func ihdr(width: UInt32, height: UInt32, depth: UInt8 = 8, colorType: UInt8 = 6, interlace: UInt8 = 0)
        -> [UInt8]
    {
        chunk("IHDR", HeaderBytes.be32(width) + HeaderBytes.be32(height) + [depth, colorType, 0, 0, interlace])
    }

    @Test func readsIHDR() {
        #expect(readHeaderSize(Self.signature + Self.ihdr(width: 3, height: 5), .png) == [3, 5])
        #expect(
            readHeaderSize(Self.signature + Self.ihdr(width: 0x7FFF_FFFF, height: 1, interlace: 1), .png) == [
                0x7FFF_FFFF, 1,
            ])
    }

    @Test func sidesOutsideOneTo2Pow31Minus1AreRefused() {
        expectCorruptHeader(Self.signature + Self.ihdr(width: 0x8000_0000, height: 1), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 1, height: 0xFFFF_FFFF), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 0, height: 1), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 1, height: 0), .png)
    }

    @Test func ihdrMustComeFirst() {
        expectCorruptHeader(
            Self.signature + Self.chunk("gAMA", HeaderBytes.be32(45455)) + Self.ihdr(width: 1, height: 1), .png)
    }

    @Test func malformedIHDRIsRefused() {
        expectCorruptHeader(
            Self.signature + Self.chunk("IHDR", HeaderBytes.be32(1) + HeaderBytes.be32(1) + [8, 6, 0, 0, 0], crc: 0),
            .png)
        expectCorruptHeader(
            Self.signature + Self.chunk("IHDR", HeaderBytes.be32(1) + HeaderBytes.be32(1) + [8, 6, 0, 0]), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 1, height: 1, depth: 16, colorType: 3), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 1, height: 1, depth: 4, colorType: 2), .png)
        expectCorruptHeader(Self.signature + Self.ihdr(width: 1, height: 1, interlace: 2), .png)
        expectCorruptHeader(Array((Self.signature + Self.ihdr(width: 1, height: 1)).dropLast()), .png)
        expectCorruptHeader(Array(Self.signature.dropLast()), .png)
    }
}
