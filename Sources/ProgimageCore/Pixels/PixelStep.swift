package import ProgimageAPI
package import GD

/// How an operation touches pixels. The grammar of each operation lives in ProgimageAPI
/// (shared with the client); its pixels live here, one extension per operation.
package protocol PixelStep {
    /// `planned` is the size this step must produce, computed from the logical source size
    /// (which can differ from `image`'s when JPEG shrink-on-load decoded it smaller).
    func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage
}

/// What a step may need besides its own arguments.
package struct PixelContext: Sendable {
    /// The input size as the chain sees it (before shrink-on-load).
    package let logicalInput: ImageSize
    /// Background for uncovered corners: transparent where the output has alpha.
    package let background: UInt32
    /// Where `overlay` finds the images it composites.
    package let overlays: OverlaySource
    /// The step's place in the chain.
    package let step: Int
    /// For the frames of an animation: what they share (a smart crop's window).
    package let frames: FrameConsistency?
    /// What the input image stands for in its own pixels, when that is not its size: the
    /// first step after a DCT-scaled JPEG decode (`ImageDecoder.dctScaledExtent`). nil
    /// otherwise.
    package var inputExtent: (width: Double, height: Double)? = nil

    /// Where a smart crop puts its window: chosen on this image, or, in an animation, the
    /// one chosen on its first frame.
    func smartWindow(_ choose: () -> (x: Int, y: Int)) -> (x: Int, y: Int) {
        frames?.window(forStep: step, choosing: choose) ?? choose()
    }
}

/// The upright first frame of another stored image, for `overlay:{id}`: as 8-bit straight
/// rows, its alpha in 8 bits where its file has them, whether the image it goes on is
/// libgd's or such rows.
package struct OverlaySource: Sendable {
    let rows: @Sendable (ImageID) throws(ServiceError) -> StraightRGBA

    init(rows: @escaping @Sendable (ImageID) throws(ServiceError) -> StraightRGBA) {
        self.rows = rows
    }

    /// For pipelines without storage (`progimage-bench`): no overlay exists.
    package static let none = OverlaySource { id throws(ServiceError) in throw ServiceError(.notFound, "no image with id \(id)") }
}

extension GDError {
    var serviceError: ServiceError { ServiceError(.internalError, "image operation failed: \(self)") }
}
