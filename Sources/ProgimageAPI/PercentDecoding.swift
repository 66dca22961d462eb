/// `%XX` decoding, one byte-level loop for every caller: URL components and query values
/// keep an invalid escape as written, as browsers do; RFC 8187 values (`filename*=`) are
/// refused whole, so the caller falls back to the plain parameter.
public enum PercentDecoding {
    /// - Parameter plusAsSpace: true for `application/x-www-form-urlencoded` query values.
    public static func decode(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String {
        // Lenient decoding never fails.
        String(decoding: bytes(text.utf8, strict: false, plusAsSpace: plusAsSpace) ?? [], as: UTF8.self)
    }

    /// The decoded bytes; with `strict`, nil at the first escape that is not `%` and two
    /// hex digits, otherwise such an escape is kept as written. Only hex digits count: a
    /// sign (`%+1`) is not a number here, as `UInt8(_:radix:)` would make it.
    public static func bytes(_ encoded: some Collection<UInt8>, strict: Bool, plusAsSpace: Bool = false) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(encoded.count)
        var rest = encoded[...]
        while let byte = rest.popFirst() {
            if plusAsSpace, byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                if let high = rest.first.flatMap(hexValue), let low = rest.dropFirst().first.flatMap(hexValue) {
                    output.append(high << 4 | low)
                    rest = rest.dropFirst(2)
                } else if strict {
                    return nil
                } else {
                    output.append(byte)
                }
            } else {
                output.append(byte)
            }
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
