/// Named chains (`PROGIMAGE_PRESETS`, `thumb=resize:200x200,fill/quality:70;hero=resize:1600x`):
/// `preset:{name}` in a URL stands for its chain, may be combined with other operations, and
/// is canonical as written.
public struct PresetTable: Sendable, Equatable {
    /// Each name's chain as canonical segments, other presets it uses expanded.
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
    /// so `quality` is allowed), and may use the presets defined before it (`preset:hero/
    /// flip:h`, as in a URL; only earlier ones, so no definition can reach itself). Each is
    /// kept as the chain it stands for, canonical, other presets expanded: a change of
    /// `hero` changes every definition using it, which is what the cache's purge and
    /// nginx's routing compare and read. Returns the reason for a bad definition.
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
            for segment in ops.split(separator: "/") where segment.hasPrefix("preset:") {
                let used = String(segment.dropFirst("preset:".count))
                guard definitions[used] == nil else { continue }
                return .failure(.init(entry: String(entry), reason: "\(segment): a preset may use only those defined before it"))
            }
            let chain: OperationChain
            do {
                chain = try OperationParser.parse(
                    Substring(ops), format: .jpg, presets: PresetTable(definitions: definitions, presetsOnly: false)
                ).chain
            } catch {
                return .failure(.init(entry: String(entry), reason: error.message))
            }
            let expanded = OperationChain(operations: chain.operations, quality: chain.quality, format: .jpg)
            definitions[name] = expanded.canonicalOperations.dropFirst().split(separator: "/")
        }
        return .success(PresetTable(definitions: definitions, presetsOnly: presetsOnly))
    }
}

/// Why `PROGIMAGE_PRESETS` does not parse.
public struct PresetDefinitionError: Error, Sendable {
    public let entry: String
    public let reason: String
}
