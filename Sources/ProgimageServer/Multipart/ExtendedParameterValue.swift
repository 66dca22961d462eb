import ProgimageAPI

/// Decodes an RFC 8187 ext-value such as `UTF-8''na%C3%AFve%20cat.jpg`.
///
/// Only UTF-8 and ISO-8859-1 are defined by the RFC; anything else, a bad percent escape or
/// invalid UTF-8 answers nil so the caller falls back to the plain parameter.
enum ExtendedParameterValue {
    static func decode(_ extValue: String) -> String? {
        let bytes = Array(extValue.utf8)
        guard let charsetEnd = bytes.firstIndex(of: apostrophe),
            let languageEnd = bytes[(charsetEnd + 1)...].firstIndex(of: apostrophe),
            let decoded = PercentDecoding.bytes(bytes[(languageEnd + 1)...], strict: true)
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
}

private let apostrophe = UInt8(ascii: "'")
