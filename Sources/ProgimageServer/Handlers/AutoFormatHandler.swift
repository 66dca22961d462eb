import ProgimageDeployment
import ProgimageAPI
import ProgimageCore

/// `GET /images/{id}[/{ops}].auto`: a `302` to the explicit format the browser's `Accept`
/// asks for — avif, then webp (each only when named explicitly with q > 0), then png for an
/// image with alpha, else jpg. Only this redirect varies with a request header (`Vary:
/// Accept`); the image URLs it leads to never do, so no cache ever stores two versions of
/// one image URL.
struct AutoFormatHandler {
    let context: ServiceContext

    func respond(to request: HTTPRequest, id: ImageID, operations: String) throws(ServiceError) -> HTTPResponse {
        guard request.method == "GET" || request.isHead else { throw ServiceError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"]) }
        // An unknown or deleted id is 404 before its signature matters, as for every image URL.
        guard let record = try context.metadata.record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        try context.keys.verifySignature(path: "/images/\(id)\(operations).auto", signature: request.queryValue("sig"))

        let accepted = Self.acceptedImageTypes(request.headers["accept"] ?? "")
        var candidates: [ImageFormat] = []
        if accepted.contains("image/avif") { candidates.append(.avif) }
        if accepted.contains("image/webp") { candidates.append(.webp) }
        if record.hasAlpha { candidates.append(.png) }
        candidates.append(.jpg)
        // The first candidate the operations are valid for.
        var chosen: OperationChain?
        for format in candidates {
            let segments = Self.segments(operations, for: format)
            if segments.isEmpty {
                chosen = OperationChain(format: format)
            } else {
                guard let parsed = try? OperationParser.parse(segments, format: format, presets: context.configuration.presets) else { continue }
                chosen = parsed.chain
            }
            break
        }
        guard let chosen else { throw ServiceError(.badOperation, "no output format fits these operations") }
        // A deleted overlay makes every URL drawing it a 404, this one too (it was a 302 to
        // the 404, which a cache kept a day).
        for overlay in chosen.overlayImages where try context.metadata.record(overlay) == nil {
            throw ServiceError(.notFound, "no image with id \(overlay)")
        }
        let target = "/images/\(id)\(chosen.canonicalPath)"

        // The query is kept, with the target's own signature in place of the .auto URL's.
        var query = request.query.split(separator: "&").filter { !$0.hasPrefix("sig=") }.map(String.init)
        if let signature = context.keys.signatureIfSigning(path: target) { query.append("sig=\(signature)") }
        let location = query.isEmpty ? target : "\(target)?\(query.joined(separator: "&"))"
        // Timing-Allow-Origin as on the image it leads to: a redirect hop without it hides the
        // whole chain's timings from the page (Resource Timing showed a `.auto` image with
        // no sizes or times in Chromium).
        return .json(
            302, .object([("location", .string(location))]),
            headers: [("Location", location), ("Vary", "Accept"), ("Cache-Control", "public, max-age=86400"),
                      ("Timing-Allow-Origin", "*")])
    }

    /// The canonical operations without their leading `/`, for `format`: a trailing
    /// `quality:` (a lossy encoder's option, `400` on a png URL) is dropped for a format
    /// that takes none, so that an image with alpha still goes to png, lossless, and is not
    /// flattened into a jpg because the URL was written for the lossy formats. A preset's
    /// own quality needs no dropping: the parser applies it only where it can.
    static func segments(_ operations: String, for format: ImageFormat) -> Substring {
        let segments = Substring(operations).dropFirst()
        guard !format.acceptsQuality else { return segments }
        let lastSlash = segments.lastIndex(of: "/")
        let last = segments[(lastSlash.map { segments.index(after: $0) } ?? segments.startIndex)...]
        guard last.hasPrefix("quality:") else { return segments }
        return segments[..<(lastSlash ?? segments.startIndex)]
    }

    /// The media types an `Accept` header names explicitly with a q-value above 0
    /// (wildcards name no format). A range whose weight is not one RFC 9110 §12.4.2 allows
    /// (`q=1.5`, `q=.5`, `q=abc`, a second `q`) names nothing: `q=abc` had counted as 0 and
    /// `q=1.5` or `q=0;q=1` as accepted (a black-box tester).
    static func acceptedImageTypes(_ accept: String) -> Set<String> {
        var types: Set<String> = []
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimming(" \t").lowercased() }
            guard let type = parts.first, !type.contains("*") else { continue }
            let weights = parts.dropFirst().filter { $0.hasPrefix("q=") }
            guard weights.count <= 1 else { continue }
            let quality = weights.first.map { qvalue($0.dropFirst(2)) } ?? 1
            if let quality, quality > 0 { types.insert(type) }
        }
        return types
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, or nil.
    static func qvalue(_ text: some StringProtocol) -> Double? {
        guard let whole = text.first, whole == "0" || whole == "1" else { return nil }
        let fraction = text.dropFirst()
        if !fraction.isEmpty {
            let digits = fraction.dropFirst()
            guard fraction.first == ".", digits.count <= 3, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
            if whole == "1", digits.contains(where: { $0 != "0" }) { return nil }
        }
        return Double(String(text))
    }
}
