/// A padding colour, `rrggbb` or `rrggbbaa` in lower-case hex (upper case is a valid,
/// non-canonical spelling).
public struct PadColour: Sendable, Equatable, CustomStringConvertible {
    public let red: UInt8
    public let green: UInt8
    public let blue: UInt8
    /// 255 opaque … 0 transparent.
    public let alpha: UInt8
    let hasAlphaDigits: Bool

    public init?(_ text: Substring) {
        guard text.count == 6 || text.count == 8, text.allSatisfy(\.isHexDigit), text.allSatisfy(\.isASCII) else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        (red, green, blue) = (bytes[0], bytes[1], bytes[2])
        alpha = bytes.count == 4 ? bytes[3] : 255
        hasAlphaDigits = bytes.count == 4
    }

    public var description: String {
        let digits = hasAlphaDigits ? [red, green, blue, alpha] : [red, green, blue]
        return digits.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// As libgd packs a truecolor pixel: 7-bit alpha, 0 opaque … 127 transparent.
    public var packed: UInt32 {
        let transparency = UInt32((255 - Int(alpha)) * 127 / 255)
        return transparency << 24 | UInt32(red) << 16 | UInt32(green) << 8 | UInt32(blue)
    }
}
