/// Decodes an RFC 8187 ext-value such as `UTF-8''na%C3%AFve%20cat.jpg`.
///
/// Only UTF-8 and ISO-8859-1 are defined by the RFC; anything else, a bad percent escape or
/// invalid UTF-8 answers nil so the caller falls back to the plain parameter.
enum ExtendedParameterValue {
    static func decode(_ extValue: String) -> String? {
        let bytes = Array(extValue.utf8)
        guard let charsetEnd = bytes.firstIndex(of: apostrophe),
            let languageEnd = bytes[(charsetEnd + 1)...].firstIndex(of: apostrophe),
            let decoded = percentDecoded(bytes[(languageEnd + 1)...])
        else { return nil }
        switch HeaderValueScanner.asciiLowercased(String(decoding: bytes[..<charsetEnd], as: UTF8.self)) {
        case "utf-8":
            return String(validating: decoded, as: UTF8.self)
        case "iso-8859-1":
            var text = ""
            text.unicodeScalars.append(contentsOf: decoded.map { Unicode.Scalar($0) })
            return text
        default:
            return nil
        }
    }

    private static func percentDecoded(_ encoded: ArraySlice<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let byte = encoded[index]
            guard byte == percent else {
                output.append(byte)
                index += 1
                continue
            }
            guard encoded.endIndex - index >= 3,
                let high = hexValue(encoded[index + 1]), let low = hexValue(encoded[index + 2])
            else { return nil }
            output.append(high << 4 | low)
            index += 3
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

private let apostrophe = UInt8(ascii: "'")
private let percent = UInt8(ascii: "%")
