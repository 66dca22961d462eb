public import ProgimageAPI
package import GD

extension ResizeOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        if mode == .fill, gravity == .smart {
            // The smart window is chosen on the whole cover, which a thin image enlarged
            // makes enormous; compass gravities make only their window.
            let scale = fitScale(for: context.logicalInput)
            let cover = (Self.scaled(context.logicalInput.width, scale), Self.scaled(context.logicalInput.height, scale))
            guard cover.0 <= Self.largestSmartCover / max(1, cover.1) else {
                throw ServiceError(
                    .imageTooLarge, "a smart fill of this image would first enlarge it to \(cover.0)x\(cover.1), over \(Self.largestSmartCover) pixels")
            }
        }
        do {
            switch mode {
            case .fit, .force:
                return try image.scaled(width: planned.width, height: planned.height)
            case .pad:
                // Fit inside the box, then centre on a canvas of exactly the box.
                let scale = fitScale(for: context.logicalInput)
                let fitted = (
                    min(planned.width, Self.scaled(context.logicalInput.width, scale)),
                    min(planned.height, Self.scaled(context.logicalInput.height, scale))
                )
                let scaled = try image.scaled(width: fitted.0, height: fitted.1)
                return try scaled.placedOnCanvas(
                    width: planned.width, height: planned.height, x: (planned.width - fitted.0) / 2,
                    y: (planned.height - fitted.1) / 2, fill: padColour?.packed ?? context.background)
            case .fill:
                // Cover the box, then keep the window the gravity names.
                let scale = fitScale(for: context.logicalInput)
                let coverWidth = max(planned.width, Self.scaled(context.logicalInput.width, scale))
                let coverHeight = max(planned.height, Self.scaled(context.logicalInput.height, scale))
                let (spareX, spareY) = (coverWidth - planned.width, coverHeight - planned.height)
                if gravity != .smart, coverWidth >= image.width, coverHeight >= image.height {
                    // An enlargement: only the window is made (a thin image's cover can be
                    // billions of pixels). The same pixels as covering, then cropping.
                    let origin = CompassAnchor.origin(gravity?.rawValue ?? "c", spareX: spareX, spareY: spareY)
                    return try image.scaledWindow(
                        width: coverWidth, height: coverHeight,
                        window: (origin.x, origin.y, planned.width, planned.height))
                }
                let covered = try image.scaled(width: coverWidth, height: coverHeight)
                let origin =
                    gravity == .smart
                    ? context.smartWindow { AttentionWindow.origin(in: covered, width: planned.width, height: planned.height) }
                    : CompassAnchor.origin(gravity?.rawValue ?? "c", spareX: spareX, spareY: spareY)
                return try covered.cropped(x: origin.x, y: origin.y, width: planned.width, height: planned.height)
            }
        } catch {
            throw error.serviceError
        }
    }

    /// The most pixels a smart fill's cover may have: 128 M, half a GB as libgd's pixels.
    static let largestSmartCover = 1 << 27
}
