internal import Digest
public import ProgimageAPI

/// A conversion or transform of one image, printed as the service's canonical path (the
/// one it caches under and checks signatures against): built from the same operation types
/// the server parses, so the two cannot disagree.
public struct ImageLink: Sendable {
    public let id: String
    public let chain: OperationChain
    /// `.auto` in place of the chain's format: the service answers `302` to the format the
    /// browser's `Accept` asks for, signed by the service; this URL needs its own signature.
    public let isAuto: Bool

    public init(id: String, chain: OperationChain, isAuto: Bool = false) {
        self.id = id
        self.chain = chain
        self.isAuto = isAuto
    }

    /// The `.auto` link of `operations`, parsed as the service parses a `.auto` URL (as for
    /// jpg: a `quality` is allowed, the lossy targets take it).
    public static func auto(id: String, operations: String) throws(ProgimageClientError) -> ImageLink {
        let parsed = try ImageLink(id: id, operations: operations, format: .jpg)
        return ImageLink(id: id, chain: parsed.chain, isAuto: true)
    }

    /// From URL text (`"resize:200x200/rotate:90"`, any valid spelling) and a format;
    /// printed canonically whatever the spelling.
    public init(id: String, operations: String, format: ImageFormat) throws(ProgimageClientError) {
        let text = operations.split(separator: "/").joined(separator: "/")
        guard !text.isEmpty else {
            self.init(id: id, chain: OperationChain(format: format))
            return
        }
        do {
            // A `preset:` is the server's to expand: printed as written.
            self.init(id: id, chain: try OperationParser.parse(Substring(text), format: format, presets: .definedByTheServer).chain)
        } catch {
            throw .invalidRequest("operations \(operations): \(error.message)")
        }
    }

    /// `/images/{id}/….{ext}`, or `….auto`.
    public var path: String { "/images/\(id)" + (isAuto ? chain.canonicalOperations + ".auto" : chain.canonicalPath) }

    /// `?sig=` for `path` with the signing key.
    public func signature(key: String) -> String {
        Base64URL.encode(SHA256.hmac(key: Array(key.utf8), message: Array(path.utf8)))
    }
}
