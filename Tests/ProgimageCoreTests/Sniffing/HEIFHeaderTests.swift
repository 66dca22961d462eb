import ProgimageAPI
import ProgimageCore
import Testing

@Suite struct HEIFHeaderTests {
    /// The usual libheif layout: a thumbnail (item 2) whose ispe comes first in ipco, and
    /// the primary (item 1) bound to the second ispe, so taking the first ispe is wrong.
    static func file(
        ftyp: [UInt8] = HeaderBytes.ftyp(major: "heic", compatible: ["mif1", "heic"]),
        pitmVersion: UInt8 = 0, primary: UInt32 = 1,
        ipmaVersion: UInt8 = 0, ipmaFlags: UInt32 = 0,
        properties: [[UInt8]] = [
            HeaderBytes.box("hvcC", [1, 2, 3]), HeaderBytes.ispe(160, 120), HeaderBytes.ispe(4032, 3024),
        ],
        associations: [(item: UInt32, indexes: [Int])] = [(2, [1, 2]), (1, [1, 3])]
    ) -> [UInt8] {
        let id: (UInt32) -> [UInt8] = { ipmaVersion < 1 ? HeaderBytes.be16(Int($0)) : HeaderBytes.be32($0) }
        var entries = HeaderBytes.be32(UInt32(associations.count))
        for (item, indexes) in associations {
            entries += id(item) + [UInt8(indexes.count)]
            for index in indexes {
                // Every association is marked essential (the high bit), which must not leak into the index.
                entries += ipmaFlags & 1 == 1 ? HeaderBytes.be16(0x8000 | index) : [0x80 | UInt8(index)]
            }
        }
        let pitm = HeaderBytes.fullBox(
            "pitm", version: pitmVersion, pitmVersion == 0 ? HeaderBytes.be16(Int(primary)) : HeaderBytes.be32(primary))
        let iprp = HeaderBytes.box(
            "iprp",
            HeaderBytes.box("ipco", properties.flatMap { $0 })
                + HeaderBytes.fullBox("ipma", version: ipmaVersion, flags: ipmaFlags, entries))
        let meta = HeaderBytes.fullBox(
            "meta", HeaderBytes.fullBox("hdlr", [UInt8](repeating: 0, count: 20)) + pitm + iprp)
        return ftyp + meta + HeaderBytes.box("mdat", [0, 0, 0, 0])
    }

    @Test func primaryItemsIspeNotTheFirst() {
        #expect(readHeaderSize(Self.file(), .heic) == [4032, 3024])
        let avif = Self.file(ftyp: HeaderBytes.ftyp(major: "avif", compatible: ["mif1"]))
        #expect(FormatSniffer.sniff(avif) == .avif)
        #expect(readHeaderSize(avif, .avif) == [4032, 3024])
    }

    @Test func wideIdsAndIndexes() {
        let bytes = Self.file(
            pitmVersion: 1, primary: 0x10001, ipmaVersion: 1, ipmaFlags: 1,
            associations: [(1, [2]), (0x10001, [1, 3])])
        #expect(readHeaderSize(bytes, .heic) == [4032, 3024])
        // Index 200 only fits the 15-bit form.
        let properties =
            [HeaderBytes.box("hvcC", [])] + Array(repeating: HeaderBytes.box("free", []), count: 198) + [
                HeaderBytes.ispe(7, 9)
            ]
        let wide = Self.file(ipmaFlags: 1, properties: properties, associations: [(1, [1, 200])])
        #expect(readHeaderSize(wide, .heic) == [7, 9])
    }

    @Test func primaryInALaterIpma() {
        var bytes = Self.file(associations: [(2, [2])])
        let extra = HeaderBytes.fullBox("ipma", HeaderBytes.be32(1) + HeaderBytes.be16(1) + [2, 0x81, 0x83])
        let iprpAt = Self.offset(of: "iprp", in: bytes)
        bytes.insert(contentsOf: extra, at: iprpAt + Self.size(at: iprpAt, in: bytes))
        Self.grow(at: iprpAt, by: extra.count, in: &bytes)
        Self.grow(at: Self.offset(of: "meta", in: bytes), by: extra.count, in: &bytes)
        #expect(readHeaderSize(bytes, .heic) == [4032, 3024])
    }

    @Test func largeAndToEndBoxSizes() {
        // meta with a 64-bit size (size field 1, then the real size after the type).
        var plain = Self.file()
        let metaAt = Self.offset(of: "meta", in: plain)
        let metaSize = Self.size(at: metaAt, in: plain)
        let payload = Array(plain[(metaAt + 8)..<(metaAt + metaSize)])
        let large =
            HeaderBytes.be32(1) + HeaderBytes.ascii("meta") + HeaderBytes.be64(UInt64(16 + payload.count)) + payload
        plain.replaceSubrange(metaAt..<(metaAt + metaSize), with: large)
        #expect(readHeaderSize(plain, .heic) == [4032, 3024])

        // meta with size 0 runs to the end of the file.
        var toEnd = Self.file()
        let at = Self.offset(of: "meta", in: toEnd)
        toEnd = Array(toEnd[..<Self.offset(of: "mdat", in: toEnd)])
        toEnd.replaceSubrange(at..<(at + 4), with: HeaderBytes.be32(0))
        #expect(readHeaderSize(toEnd, .heic) == [4032, 3024])
    }

    @Test func refusals() {
        expectCorruptHeader(Self.file(associations: [(2, [1, 2])]), .heic)  // primary has no properties
        expectCorruptHeader(Self.file(associations: [(1, [1])]), .heic)  // primary has no ispe
        expectCorruptHeader(Self.file(associations: [(1, [9])]), .heic)  // index past ipco
        expectCorruptHeader(
            Self.file(properties: [HeaderBytes.box("hvcC", []), HeaderBytes.ispe(1, 1), HeaderBytes.ispe(0, 5)]), .heic)
        expectCorruptHeader(
            Self.file(properties: [
                HeaderBytes.box("hvcC", []), HeaderBytes.ispe(1, 1), HeaderBytes.fullBox("ispe", [0, 0, 0, 9]),
            ]), .heic
        )
        expectCorruptHeader(HeaderBytes.ftyp(major: "heic", compatible: []) + HeaderBytes.box("mdat", []), .heic)  // no meta
        expectCorruptHeader(
            HeaderBytes.ftyp(major: "mif3", minor: HeaderBytes.ascii("heic"), compatible: [])
                + HeaderBytes.box("mini", [0, 0]), .heic)
        expectCorruptHeader(HeaderBytes.box("free", []) + Self.file(), .heic)  // ftyp not first
        var noPitm = Self.file()
        let pitmAt = Self.offset(of: "pitm", in: noPitm)
        noPitm.replaceSubrange((pitmAt + 4)..<(pitmAt + 8), with: HeaderBytes.ascii("skip"))
        expectCorruptHeader(noPitm, .heic)
        var oversized = Self.file()
        oversized.replaceSubrange(
            Self.offset(of: "meta", in: oversized)..<(Self.offset(of: "meta", in: oversized) + 4),
            with: HeaderBytes.be32(0xFFFF_FFF0))
        expectCorruptHeader(oversized, .heic)
    }

    // Locating boxes in built files, for the edits above.

    static func offset(of type: String, in bytes: [UInt8]) -> Int {
        let pattern = HeaderBytes.ascii(type)
        guard let at = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == pattern }) else {
            return -1
        }
        return at - 4
    }

    static func size(at offset: Int, in bytes: [UInt8]) -> Int {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    static func grow(at offset: Int, by delta: Int, in bytes: inout [UInt8]) {
        bytes.replaceSubrange(
            offset..<(offset + 4), with: HeaderBytes.be32(UInt32(size(at: offset, in: bytes) + delta)))
    }
}
