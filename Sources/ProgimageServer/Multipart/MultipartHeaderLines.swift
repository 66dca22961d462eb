/// The header lines of one part, looked up by case-insensitive name.
///
/// Obsolete folded lines (leading whitespace) are joined to the previous field and lines
/// without a colon are ignored: neither is worth rejecting an upload over.
struct MultipartHeaderLines {
    private var fields: [(name: String, value: [UInt8])] = []

    mutating func add(_ line: ArraySlice<UInt8>) {
        guard let first = line.first else { return }
        if HeaderValueScanner.isWhitespace(first) {
            if !fields.isEmpty {
                fields[fields.count - 1].value.append(0x20)
                fields[fields.count - 1].value.append(contentsOf: line)
            }
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = HeaderValueScanner.asciiLowercased(HeaderValueScanner.trimmedString(line[..<colon]))
        fields.append((name, Array(line[(colon + 1)...])))
    }

    /// The first field of that name, trimmed; `name` must be lowercase.
    func value(named name: String) -> String? {
        fields.first { $0.name == name }.map { HeaderValueScanner.trimmedString($0.value[...]) }
    }
}
