import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct TIFFHeaderTests {
    struct Entry {
        var tag: Int
        var type: Int
        var count: UInt32 = 1
        var value: UInt64
    }

    /// A classic TIFF: header, then one IFD at offset 8.
    static func classic(bigEndian: Bool, _ entries: [Entry], countOverride: Int? = nil) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { bigEndian ? HeaderBytes.be16(value) : HeaderBytes.le16(value) }
        func u32(_ value: UInt32) -> [UInt8] { bigEndian ? HeaderBytes.be32(value) : HeaderBytes.le32(value) }
        var bytes: [UInt8] = HeaderBytes.ascii(bigEndian ? "MM" : "II")
        bytes += u16(42)
        bytes += u32(8)
        bytes += u16(countOverride ?? entries.count)
        for entry in entries {
            bytes += u16(entry.tag)
            bytes += u16(entry.type)
            bytes += u32(entry.count)
            // SHORT values sit left-justified in the 4-byte field.
            bytes += entry.type == 3 ? u16(Int(entry.value)) + [0, 0] : u32(UInt32(truncatingIfNeeded: entry.value))
        }
        bytes += u32(0)
        return bytes
    }

    /// A big-endian BigTIFF: 16-byte header, IFD at 16, 20-byte entries.
    static func bigTIFF(_ entries: [Entry]) -> [UInt8] {
        var bytes: [UInt8] = HeaderBytes.ascii("MM") + HeaderBytes.be16(43) + HeaderBytes.be16(8) + HeaderBytes.be16(0)
        bytes += HeaderBytes.be64(16) + HeaderBytes.be64(UInt64(entries.count))
        for entry in entries {
            bytes += HeaderBytes.be16(entry.tag) + HeaderBytes.be16(entry.type) + HeaderBytes.be64(UInt64(entry.count))
            switch entry.type {
            case 3: bytes += HeaderBytes.be16(Int(entry.value)) + [UInt8](repeating: 0, count: 6)
            case 4: bytes += HeaderBytes.be32(UInt32(entry.value)) + [0, 0, 0, 0]
            default: bytes += HeaderBytes.be64(entry.value)
            }
        }
        return bytes + HeaderBytes.be64(0)
    }

    static let compression = Entry(tag: 259, type: 3, value: 1)

    @Test(arguments: [false, true])
    func classicShortAndLong(bigEndian: Bool) {
        let short = Self.classic(
            bigEndian: bigEndian,
            [Entry(tag: 256, type: 3, value: 300), Entry(tag: 257, type: 3, value: 65_535), Self.compression])
        #expect(readHeaderSize(short, .tiff) == [300, 65_535])
        let long = Self.classic(
            bigEndian: bigEndian,
            [Self.compression, Entry(tag: 257, type: 4, value: 7), Entry(tag: 256, type: 4, value: 0xFFFF_FFFF)])
        #expect(readHeaderSize(long, .tiff) == [0xFFFF_FFFF, 7])
    }

    @Test func bigTIFFWithEveryIntegerType() {
        #expect(
            readHeaderSize(
                Self.bigTIFF([Entry(tag: 256, type: 16, value: 70_000), Entry(tag: 257, type: 3, value: 9)]), .tiff)
                == [70_000, 9])
        #expect(
            readHeaderSize(
                Self.bigTIFF([Entry(tag: 256, type: 4, value: 5), Entry(tag: 257, type: 4, value: 6)]), .tiff) == [
                    5, 6,
                ])
        expectCorruptHeader(
            Self.bigTIFF([Entry(tag: 256, type: 16, value: UInt64.max), Entry(tag: 257, type: 3, value: 9)]), .tiff)
    }

    @Test func refusals() {
        let width = Entry(tag: 256, type: 3, value: 10)
        let height = Entry(tag: 257, type: 3, value: 10)
        expectCorruptHeader(Self.classic(bigEndian: false, [width]), .tiff)
        expectCorruptHeader(Self.classic(bigEndian: false, [width, Entry(tag: 257, type: 5, value: 10)]), .tiff)  // RATIONAL
        expectCorruptHeader(
            Self.classic(bigEndian: false, [width, Entry(tag: 257, type: 3, count: 0, value: 10)]), .tiff)
        expectCorruptHeader(Self.classic(bigEndian: true, [width, Entry(tag: 257, type: 3, value: 0)]), .tiff)
        expectCorruptHeader(Self.classic(bigEndian: false, [width, height], countOverride: 0xFFFF), .tiff)
        expectCorruptHeader(Self.classic(bigEndian: false, [width, height], countOverride: 0), .tiff)
        expectCorruptHeader(HeaderBytes.ascii("II") + HeaderBytes.le16(42) + HeaderBytes.le32(0xFFFF_FFF0), .tiff)  // IFD past the end
        expectCorruptHeader(HeaderBytes.ascii("II") + HeaderBytes.le16(42) + HeaderBytes.le32(2), .tiff)  // IFD inside the header
        expectCorruptHeader(HeaderBytes.ascii("IM") + HeaderBytes.le16(42) + HeaderBytes.le32(8), .tiff)
        expectCorruptHeader(HeaderBytes.ascii("II") + HeaderBytes.le16(44) + HeaderBytes.le32(8), .tiff)
        var bigOffset = Self.bigTIFF([width, height])
        bigOffset.replaceSubrange(8..<16, with: HeaderBytes.be64(UInt64.max))
        expectCorruptHeader(bigOffset, .tiff)
        var bigCount = Self.bigTIFF([width, height])
        bigCount.replaceSubrange(16..<24, with: HeaderBytes.be64(UInt64.max / 2))
        expectCorruptHeader(bigCount, .tiff)
    }
}
