public import ProgimageAPI
public import GD

extension ResizeOperation: PixelStep {
    public func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            guard mode == .fill else { return try image.scaled(width: planned.width, height: planned.height) }
            // Cover the box, then take its centre.
            let scale = fitScale(for: context.logicalInput)
            let coverWidth = max(planned.width, Self.scaled(context.logicalInput.width, scale))
            let coverHeight = max(planned.height, Self.scaled(context.logicalInput.height, scale))
            let covered = try image.scaled(width: coverWidth, height: coverHeight)
            return try covered.cropped(
                x: (coverWidth - planned.width) / 2, y: (coverHeight - planned.height) / 2,
                width: planned.width, height: planned.height)
        } catch {
            throw error.serviceError
        }
    }
}
