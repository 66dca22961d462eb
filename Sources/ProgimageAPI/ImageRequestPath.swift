/// What a request path under `/images` names, parsed once at the edge.
public enum ImageRequestPath: Sendable {
    /// `/images`
    case collection
    /// `/images/{id}`
    case metadata(ImageID)
    /// `/images/{id}.{ext}` or `/images/{id}/{op}/….{ext}`, in canonical form.
    case derived(ImageID, OperationChain)
    /// A valid but non-canonical spelling: answer 301 to this path.
    case redirect(String)
    /// `/images/{id}.auto` or `/images/{id}/{op}/….auto`: `operations` is the text between
    /// the id and `.auto` (empty, or starting with `/`), checked, not yet canonical (its
    /// format is chosen per request).
    case auto(ImageID, operations: String)

    /// Parses a decoded path (nginx's `DOCUMENT_URI`). Unknown shapes, malformed ids and
    /// unknown extensions are `not_found`; bad operations are `bad_operation`.
    public static func parse(_ path: String, presets: PresetTable = .none) throws(ServiceError) -> ImageRequestPath {
        let notFound = ServiceError(.notFound, "no such resource: \(path)")
        guard path.hasPrefix("/images") else { throw notFound }
        let rest = path.dropFirst("/images".count)
        if rest.isEmpty || rest == "/" { return .collection }
        guard rest.first == "/" else { throw notFound }
        let body = rest.dropFirst()

        let idEnd = body.firstIndex { $0 == "/" || $0 == "." } ?? body.endIndex
        guard let id = ImageID(body[..<idEnd]) else { throw ServiceError(.notFound, "no image with id \(body[..<idEnd])") }
        let tail = body[idEnd...]
        if tail.isEmpty { return .metadata(id) }

        // The extension follows the last dot (decimals such as `blur:2.5` contain dots).
        guard let dot = tail.lastIndex(of: "."), !tail[tail.index(after: dot)...].contains("/") else { throw notFound }
        let ext = String(tail[tail.index(after: dot)...])
        if ext == "auto" {
            let opsText = tail[..<dot]
            if !opsText.isEmpty {
                guard opsText.first == "/", opsText.count > 1 else { throw notFound }
                _ = try OperationParser.parse(opsText.dropFirst(), format: .jpg, presets: presets)  // bad operations are 400 here too
            }
            return .auto(id, operations: String(opsText))
        }
        let format: ImageFormat
        var canonicalSpelling = true
        if let known = ImageFormat(extension: ext) {
            format = known
        } else if let alias = ImageFormat.aliases[ext] {
            format = alias
            canonicalSpelling = false
        } else {
            throw ServiceError(.notFound, "unknown extension .\(ext)")
        }

        let opsText = tail[..<dot]
        var chain = OperationChain(format: format)
        if !opsText.isEmpty {
            guard opsText.first == "/", opsText.count > 1 else { throw notFound }
            let parsed = try OperationParser.parse(opsText.dropFirst(), format: format, presets: presets)
            chain = parsed.chain
            canonicalSpelling = canonicalSpelling && parsed.isCanonical
        }
        guard canonicalSpelling else { return .redirect("/images/\(id)\(chain.canonicalPath)") }
        return .derived(id, chain)
    }
}
