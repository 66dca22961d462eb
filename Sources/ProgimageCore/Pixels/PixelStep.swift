public import ProgimageAPI
public import GD

/// How an operation touches pixels. The grammar of each operation lives in ProgimageAPI
/// (shared with the client); its pixels live here, one extension per operation.
public protocol PixelStep {
    /// `planned` is the size this step must produce, computed from the logical source size
    /// (which can differ from `image`'s when JPEG shrink-on-load decoded it smaller).
    func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage
}

/// What a step may need besides its own arguments.
public struct PixelContext: Sendable {
    /// The input size as the chain sees it (before shrink-on-load).
    public let logicalInput: ImageSize
    /// Background for uncovered corners: transparent where the output has alpha.
    public let background: UInt32
}

extension GDError {
    var serviceError: ServiceError { ServiceError(.internalError, "image operation failed: \(self)") }
}
