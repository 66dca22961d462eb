public import ProgimageAPI
package import GD

extension ResizeOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
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
                let covered = try image.scaled(width: coverWidth, height: coverHeight)
                let (spareX, spareY) = (coverWidth - planned.width, coverHeight - planned.height)
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
}
