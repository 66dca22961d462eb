import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct JPEGHeaderTests {
    static let soi: [UInt8] = [0xFF, 0xD8]

    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0xFF, marker] + HeaderBytes.be16(payload.count + 2) + payload
    }

    static func frame(_ marker: UInt8 = 0xC0, width: Int, height: Int) -> [UInt8] {
        segment(marker, [8] + HeaderBytes.be16(height) + HeaderBytes.be16(width) + [1, 1, 0x11, 0])
    }

    @Test(arguments: [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] as [UInt8])
    func everyFrameType(marker: UInt8) {
        let bytes = Self.soi + Self.frame(marker, width: 640, height: 480)
        #expect(readHeaderSize(bytes, .jpg) == [640, 480])
    }

    /// DHT (C4), JPG (C8) and DAC (CC) share the SOF range but are not frame headers.
    @Test func skipsTablesInTheFrameRange() {
        let tables = [0xC4, 0xC8, 0xCC].flatMap { Self.segment($0, [0, 1, 2, 3, 4, 5, 6, 7]) }
        let bytes = Self.soi + tables + Self.frame(width: 3, height: 2)
        #expect(readHeaderSize(bytes, .jpg) == [3, 2])
    }

    @Test func skipsLargeAppSegmentsAndFillBytes() {
        let exif = Self.segment(0xE1, [UInt8](repeating: 0xFF, count: 60_000))
        let bytes =
            Self.soi + Self.segment(0xE0, HeaderBytes.ascii("JFIF\0")) + [0xFF, 0xFF, 0xFF] + exif
            + [0xFF, 0xFF] + Self.frame(0xC2, width: 65_535, height: 1)
        #expect(readHeaderSize(bytes, .jpg) == [65_535, 1])
    }

    /// libjpeg warns about and skips bytes between segments; refusing them would refuse files it decodes.
    @Test func skipsGarbageBetweenSegments() {
        let bytes = Self.soi + Self.segment(0xE0, [1, 2]) + [0x00, 0x12] + Self.frame(width: 5, height: 7)
        #expect(readHeaderSize(bytes, .jpg) == [5, 7])
    }

    @Test func zeroHeightIsRefused() {
        // Height 0 defers to a DNL marker after the first scan: the size is unknown up front.
        expectCorruptHeader(Self.soi + Self.frame(width: 10, height: 0), .jpg)
        expectCorruptHeader(Self.soi + Self.frame(width: 0, height: 10), .jpg)
    }

    @Test func scanOrEndBeforeFrameIsRefused() {
        expectCorruptHeader(Self.soi + Self.segment(0xDA, [0, 0, 0]), .jpg)
        expectCorruptHeader(Self.soi + [0xFF, 0xD9], .jpg)
        expectCorruptHeader(Self.soi + Self.soi + Self.frame(width: 1, height: 1), .jpg)
    }

    @Test func badLengthsAreRefused() {
        expectCorruptHeader(Self.soi + [0xFF, 0xE0, 0x00, 0x01], .jpg)  // length below its own 2 bytes
        expectCorruptHeader(Self.soi + [0xFF, 0xE0, 0xFF, 0xFF, 0x00], .jpg)  // runs past the end
        expectCorruptHeader(Self.soi + [0xFF, 0xC0, 0x00, 0x05, 8, 0, 1], .jpg)  // frame header too short
        expectCorruptHeader(Self.soi + [0xFF, 0xC0, 0x00, 0x11, 8, 0], .jpg)  // truncated frame header
        expectCorruptHeader(Self.soi, .jpg)
        expectCorruptHeader([0xFF, 0xD9, 0xFF, 0xC0], .jpg)  // no SOI
    }
}
