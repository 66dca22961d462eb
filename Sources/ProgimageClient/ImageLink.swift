internal import Digest
public import ProgimageAPI

/// A conversion or transform of one image, printed as the service's canonical path (the
/// one it caches under and checks signatures against): built from the same operation types
/// the server parses, so the two cannot disagree.
public struct ImageLink: Sendable {
    public let id: String
    public let chain: OperationChain

    public init(id: String, chain: OperationChain) {
        self.id = id
        self.chain = chain
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

    /// `/images/{id}/….{ext}`.
    public var path: String { "/images/\(id)\(chain.canonicalPath)" }

    /// `?sig=` for `path` with the signing key.
    public func signature(key: String) -> String {
        Base64URL.encode(SHA256.hmac(key: Array(key.utf8), message: Array(path.utf8)))
    }
}
