/// Hand-written GIFs, to put a frame where libgd would not: a 4-colour global table
/// (black, red, green, blue), one image descriptor at any position, and LZW data that
/// never grows past 3-bit codes (a clear code every two pixels), which any decoder reads.
enum GIFFixture {
    static let black: UInt8 = 0, red: UInt8 = 1, green: UInt8 = 2, blue: UInt8 = 3

    static func make(
        screen: (width: Int, height: Int), frame: (left: Int, top: Int, width: Int, height: Int),
        transparentIndex: UInt8? = nil, index: (_ x: Int, _ y: Int) -> UInt8
    ) -> [UInt8] {
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
        var bytes = Array("GIF89a".utf8) + le16(screen.width) + le16(screen.height) + [0x81, 0, 0]
        bytes += [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]
        if let transparentIndex {
            bytes += [0x21, 0xF9, 4, 0x01, 0, 0, transparentIndex, 0]
        }
        bytes += [0x2C] + le16(frame.left) + le16(frame.top) + le16(frame.width) + le16(frame.height) + [0]
        var codes: [UInt8] = []
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                if (y * frame.width + x) % 2 == 0 { codes.append(4) }
                codes.append(index(x, y))
            }
        }
        codes.append(5)
        var packed = [UInt8](repeating: 0, count: (codes.count * 3 + 7) / 8)
        for (i, code) in codes.enumerated() {
            for bit in 0..<3 where code >> bit & 1 != 0 { packed[(i * 3 + bit) / 8] |= 1 << ((i * 3 + bit) % 8) }
        }
        bytes.append(2)
        for start in stride(from: 0, to: packed.count, by: 255) {
            let block = packed[start..<min(packed.count, start + 255)]
            bytes += [UInt8(block.count)] + block
        }
        return bytes + [0, 0x3B]
    }
}
