import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct BMPHeaderTests {
    static func bmp(infoSize: UInt32, _ info: [UInt8]) -> [UInt8] {
        HeaderBytes.ascii("BM") + HeaderBytes.le32(0) + HeaderBytes.le32(0) + HeaderBytes.le32(54)
            + HeaderBytes.le32(infoSize) + info
    }

    static func windows(infoSize: UInt32 = 40, width: Int32, height: Int32) -> [UInt8] {
        bmp(
            infoSize: infoSize,
            HeaderBytes.le32(UInt32(bitPattern: width)) + HeaderBytes.le32(UInt32(bitPattern: height)) + [1, 0, 24, 0])
    }

    @Test(arguments: [16, 40, 52, 56, 64, 108, 124] as [UInt32])
    func everyKnownInfoHeader(size: UInt32) {
        #expect(readHeaderSize(Self.windows(infoSize: size, width: 127, height: 64), .bmp) == [127, 64])
    }

    @Test func os2CoreHeaderHasUnsigned16BitSides() {
        #expect(
            readHeaderSize(
                Self.bmp(infoSize: 12, HeaderBytes.le16(0xFFFF) + HeaderBytes.le16(3) + [1, 0, 24, 0]), .bmp) == [
                    65_535, 3,
                ])
        expectCorruptHeader(Self.bmp(infoSize: 12, HeaderBytes.le16(0) + HeaderBytes.le16(3)), .bmp)
    }

    @Test func topDownHeightIsItsMagnitude() {
        #expect(readHeaderSize(Self.windows(width: 5, height: -7), .bmp) == [5, 7])
        #expect(
            readHeaderSize(Self.windows(width: Int32.max, height: -Int32.max), .bmp) == [
                Int(Int32.max), Int(Int32.max),
            ])
    }

    @Test func refusals() {
        expectCorruptHeader(Self.windows(width: -5, height: 7), .bmp)
        expectCorruptHeader(Self.windows(width: 0, height: 7), .bmp)
        expectCorruptHeader(Self.windows(width: 5, height: 0), .bmp)
        expectCorruptHeader(Self.windows(width: 5, height: Int32.min), .bmp)
        expectCorruptHeader(Self.windows(infoSize: 41, width: 5, height: 5), .bmp)
        expectCorruptHeader(Self.windows(infoSize: 0xFFFF_FFFF, width: 5, height: 5), .bmp)
        expectCorruptHeader(Array(Self.windows(width: 5, height: 5).prefix(25)), .bmp)
        expectCorruptHeader(HeaderBytes.ascii("BA") + Array(Self.windows(width: 5, height: 5).dropFirst(2)), .bmp)
    }
}
