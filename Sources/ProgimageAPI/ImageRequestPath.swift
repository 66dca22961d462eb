/// What a request path under `/images` names, parsed once at the edge.
public enum ImageRequestPath: Sendable {
    /// `/images`
    case collection
    /// `/images/{id}`
    case metadata(ImageID)
    /// `/images/{id}.{ext}` or `/images/{id}/{op}/….{ext}`, in canonical form.
    case derived(ImageID, OperationChain)
    /// A valid but non-canonical spelling of an image's URL: answer 301 to `path` (once
    /// the image, and every image it draws as an overlay, is known to exist: a deleted
    /// image's every URL is a 404, and so is every URL using it as an overlay).
    case redirect(ImageID, to: String, overlays: [ImageID])
    /// `/images/{id}.auto` or `/images/{id}/{op}/….auto`, in canonical form: `operations`
    /// is the text between the id and `.auto` (empty, or starting with `/`); its format is
    /// chosen per request.
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
                // Bad operations are a 400 here too, and a non-canonical spelling a 301 to the
                // canonical `.auto` URL first, as for every other URL (so a signature is over
                // the canonical path there too).
                let parsed = try OperationParser.parse(opsText.dropFirst(), format: .jpg, presets: presets)
                guard parsed.isCanonical else {
                    return .redirect(id, to: "/images/\(id)\(parsed.chain.canonicalOperations).auto", overlays: parsed.chain.overlayImages)
                }
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
        guard canonicalSpelling else { return .redirect(id, to: "/images/\(id)\(chain.canonicalPath)", overlays: chain.overlayImages) }
        return .derived(id, chain)
    }
}
