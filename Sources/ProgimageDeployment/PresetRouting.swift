import ProgimageAPI

/// What nginx's role map must know of `PROGIMAGE_PRESETS`, which the worker expands and
/// nginx cannot: a miss goes to the role of the last pixel operation of the expanded chain.
/// A preset whose expansion ends in a pixel operation routes as that operation; one with
/// none (only `quality`) is passed over like a written `quality`, so the segment before it
/// decides (`flip:h/preset:q.jpg` is a `flip`; it went to `convert`, which answered 421).
struct PresetRouting {
    /// Each preset whose expansion ends in a pixel operation, with that operation's role.
    var roles: [(name: String, role: TransformRole)] = []
    /// Presets that hold no pixel operation, sorted.
    var withoutPixelOperations: [String] = []
    /// `PROGIMAGE_PRESETS_ONLY=1`: only `preset:` transform URLs are served from disk; the
    /// rest go to an instance, which refuses them, even when made before the switch.
    var presetsOnly = false

    static let none = PresetRouting()

    private init() {}

    init(_ presets: PresetTable) {
        presetsOnly = presets.presetsOnly
        for name in presets.definitions.keys.sorted() {
            guard let expansion = presets.definitions[name],
                let chain = try? OperationParser.parse(expansion.joined(separator: "/")[...], format: .jpg).chain
            else { continue }
            if chain.role == .convert {
                withoutPixelOperations.append(name)
            } else {
                roles.append((name, chain.role))
            }
        }
    }

    /// The segments a URL may end with after its last pixel operation, as a regular
    /// expression: `quality`, or also the presets without pixel operations.
    var trailingSegments: String {
        guard !withoutPixelOperations.isEmpty else { return "(?:/quality:[^/]*)?" }
        return "(?:/(?:quality:[^/]*|preset:(?:\(withoutPixelOperations.joined(separator: "|")))))*"
    }
}
