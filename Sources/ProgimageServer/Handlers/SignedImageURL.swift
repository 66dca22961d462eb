import ProgimageAPI
import ProgimageCore

/// The signature check of a derived image's miss (`PROGIMAGE_SIGNING_KEY`), where the image
/// must exist for a bad signature to matter: a URL of an id never uploaded or deleted is
/// `404`, signed or not. API.md: after a delete "every URL of that id (metadata, original,
/// every conversion and transform, cached or not) answers 404"; the original's own URL,
/// which needs no signature, reaches an instance once the file is gone, and answered
/// `403 bad_signature` (a black-box probe). Ids are no secret (the original is served to
/// anyone), so telling the two apart gives nothing away.
enum SignedImageURL {
    static func verify(
        path: String, signature: String?, of id: ImageID, context: ServiceContext
    ) throws(ServiceError) {
        do {
            try context.keys.verifySignature(path: path, signature: signature)
        } catch {
            guard try context.metadata.record(id) != nil else { throw ServiceError(.notFound, "no image with id \(id)") }
            throw error
        }
    }
}
