/// Named chains (`PROGIMAGE_PRESETS`, `thumb=resize:200x200,fill/quality:70;hero=resize:1600x`):
/// `preset:{name}` in a URL stands for its chain, may be combined with other operations, and
/// is canonical as written.
public struct PresetTable: Sendable, Equatable {
    /// Each name's segments as defined, in order.
    public let definitions: [String: [Substring]]
    /// Only `preset:` segments in transform URLs (`403 preset_required` otherwise).
    public let presetsOnly: Bool

    /// A `preset:{name}` not defined here is taken as written, its name checked alone: a
    /// client prints the URL of a preset the server defines, the server expands it.
    public let passesUnknownNames: Bool

    public static let none = PresetTable(definitions: [:], presetsOnly: false)
    /// For clients: every well-formed preset name, kept as written.
    public static let definedByTheServer = PresetTable(definitions: [:], presetsOnly: false, passesUnknownNames: true)

    public init(definitions: [String: [Substring]], presetsOnly: Bool, passesUnknownNames: Bool = false) {
        self.definitions = definitions
        self.presetsOnly = presetsOnly
        self.passesUnknownNames = passesUnknownNames
    }

    /// 1–32 of a-z 0-9 _ -.
    public static func isName<Text: StringProtocol>(_ name: Text) -> Bool {
        (1...32).contains(name.count)
            && name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") })
    }

    /// Parses `name=ops;name=ops`; each chain is checked as a URL would be (`jpg` output,
    /// so `quality` is allowed). Returns nil and the reason for a bad definition.
    public static func parse(_ text: String, presetsOnly: Bool) -> Result<PresetTable, PresetDefinitionError> {
        var definitions: [String: [Substring]] = [:]
        for entry in text.split(separator: ";") where !entry.allSatisfy(\.isWhitespace) {
            guard let equals = entry.firstIndex(of: "=") else { return .failure(.init(entry: String(entry), reason: "expected name=ops")) }
            let name = entry[..<equals].trimming(" \t\r\n")
            let ops = entry[entry.index(after: equals)...].trimming(" \t\r\n")
            guard isName(name)
            else { return .failure(.init(entry: String(entry), reason: "a name is 1–32 of a-z 0-9 _ -")) }
            guard definitions[name] == nil else { return .failure(.init(entry: String(entry), reason: "\(name) is defined twice")) }
            guard !ops.isEmpty else { return .failure(.init(entry: String(entry), reason: "no operations")) }
            do {
                _ = try OperationParser.parse(Substring(ops), format: .jpg, presets: .none)
            } catch {
                return .failure(.init(entry: String(entry), reason: error.message))
            }
            definitions[name] = ops.split(separator: "/")
        }
        return .success(PresetTable(definitions: definitions, presetsOnly: presetsOnly))
    }
}

/// Why `PROGIMAGE_PRESETS` does not parse.
public struct PresetDefinitionError: Error, Sendable {
    public let entry: String
    public let reason: String
}
