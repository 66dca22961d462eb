/// Turns the operation segments of a transform URL into an `OperationChain`.
///
/// Parsing ends before pixels: every argument is validated here, so an instance never
/// decodes an image for a request it would refuse.
public enum OperationParser {
    public static func parse(
        _ text: Substring, format: ImageFormat, presets: PresetTable = .none
    ) throws(ServiceError) -> (chain: OperationChain, isCanonical: Bool) {
        var operations: [any ImageOperation] = []
        var quality: Int?
        var qualityWasLast = true
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        // With a preset, the chain prints its segments as written (each canonical), not the
        // expansion: `preset:thumb` is the URL's canonical form.
        var hasPreset = false
        var urlQuality: Int?
        var written: [String] = []
        for (index, segment) in segments.enumerated() {
            if presets.presetsOnly && !segment.hasPrefix("preset:") {
                throw ServiceError(.presetRequired, "this service serves presets only: use preset:{name} segments")
            }
            if segment.hasPrefix("preset:") {
                let name = String(segment.dropFirst("preset:".count))
                guard let expansion = presets.definitions[name] else {
                    guard presets.passesUnknownNames, PresetTable.isName(name) else {
                        throw ServiceError(.badOperation, "preset: no preset named '\(name)'")
                    }
                    written.append(String(segment))
                    hasPreset = true
                    continue
                }
                // A preset's `quality` is the lossy encoders' option, left out for an output
                // that takes none: one preset serves every format (`preset:thumb.png`, where
                // `.auto` sends an image with alpha), where a URL's own `quality` is a 400.
                let expanded = try parse(
                    expansion.joined(separator: "/")[...], format: format.acceptsQuality ? format : .jpg, presets: .none
                ).chain
                if format.acceptsQuality, let presetQuality = expanded.quality {
                    guard quality == nil else { throw ServiceError(.badOperation, "quality: given more than once") }
                    quality = presetQuality
                }
                operations += expanded.operations
                guard operations.count <= OperationChain.maximumOperations else {
                    throw ServiceError(.badOperation, "at most \(OperationChain.maximumOperations) operations")
                }
                written.append(String(segment))
                hasPreset = true
                continue
            }
            defer { if let last = operations.last, !segment.hasPrefix("quality:") { written.append(last.segment) } }
            let colon = segment.firstIndex(of: ":")
            let name = colon.map { segment[..<$0] } ?? segment
            let arguments = colon.map { segment[segment.index(after: $0)...] }
            if name == "quality" {
                guard quality == nil else { throw ServiceError(.badOperation, "quality: given more than once") }
                guard let arguments, let value = ArgumentScanner.integer(arguments), (1...100).contains(value) else {
                    throw ServiceError(.badOperation, "quality: expected an integer from 1 to 100")
                }
                guard format.acceptsQuality else {
                    throw ServiceError(.badOperation, "quality: not an option of .\(format.rawValue) output")
                }
                quality = value
                urlQuality = value
                qualityWasLast = index == segments.count - 1
                continue
            }
            guard let type = OperationCatalog.operation(named: name) else {
                throw ServiceError(.badOperation, "unknown operation '\(name.isEmpty ? segment : name)'")
            }
            operations.append(try type.init(arguments: arguments))
            guard operations.count <= OperationChain.maximumOperations else {
                throw ServiceError(.badOperation, "at most \(OperationChain.maximumOperations) operations")
            }
        }
        var chain = OperationChain(operations: operations, quality: quality, format: format)
        // Written segments carry the URL's own `quality` (last, as canonical); a preset's own
        // quality is part of its name.
        chain.writtenSegments = hasPreset ? written + (urlQuality.map { ["quality:\($0)"] } ?? []) : nil
        let canonical = chain.canonicalPath
        let isCanonical = qualityWasLast && canonical == "/" + text + ".\(format.rawValue)"
        return (chain, isCanonical)
    }
}
