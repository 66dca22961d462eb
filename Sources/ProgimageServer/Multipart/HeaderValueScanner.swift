/// The byte-level tokenizer behind `HeaderParameters`.
///
/// It never fails: a header is client input, and a half-broken parameter list should still
/// yield the parameters that are readable rather than reject the whole request.
struct HeaderValueScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func leadingValue() -> String {
        let start = index
        while index < bytes.count, bytes[index] != semicolon { index += 1 }
        return Self.trimmedString(bytes[start..<index])
    }

    /// The next `name=value` pair with the name lowercased; pairs without `=` are skipped.
    mutating func nextParameter() -> (String, String)? {
        while index < bytes.count {
            while index < bytes.count, bytes[index] == semicolon || Self.isWhitespace(bytes[index]) { index += 1 }
            let nameStart = index
            while index < bytes.count, bytes[index] != equals, bytes[index] != semicolon { index += 1 }
            let name = Self.asciiLowercased(Self.trimmedString(bytes[nameStart..<index]))
            guard index < bytes.count, bytes[index] == equals else { continue }
            index += 1
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
            let value = index < bytes.count && bytes[index] == quote ? quotedString() : token()
            if !name.isEmpty { return (name, value) }
        }
        return nil
    }

    /// A quoted-string; an unterminated one runs to the end. A backslash escapes only a
    /// quote or a backslash (Go's `mime` escapes before any tspecial; those two are what a
    /// sender escapes): browsers send a filename's
    /// backslashes as they are (WHATWG escapes only `"`, CR and LF, as `%22`…), and an old
    /// one's `C:\fakepath\cat.jpg` had come out `C:fakepathcat.jpg` instead of `cat.jpg`.
    private mutating func quotedString() -> String {
        index += 1
        var value: [UInt8] = []
        while index < bytes.count, bytes[index] != quote {
            if bytes[index] == backslash, index + 1 < bytes.count, bytes[index + 1] == quote || bytes[index + 1] == backslash {
                index += 1
            }
            value.append(bytes[index])
            index += 1
        }
        index += 1
        // Skip anything between the closing quote and the next `;`.
        while index < bytes.count, bytes[index] != semicolon { index += 1 }
        return String(decoding: value, as: UTF8.self)
    }

    private mutating func token() -> String {
        let start = index
        while index < bytes.count, bytes[index] != semicolon { index += 1 }
        return Self.trimmedString(bytes[start..<index])
    }

    static func trimmedString(_ slice: ArraySlice<UInt8>) -> String {
        var slice = slice
        while let first = slice.first, isWhitespace(first) { slice = slice.dropFirst() }
        while let last = slice.last, isWhitespace(last) { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    /// Header grammar is ASCII-case-insensitive only; Unicode lowercasing would be wrong here.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}

private let semicolon = UInt8(ascii: ";")
private let equals = UInt8(ascii: "=")
private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
