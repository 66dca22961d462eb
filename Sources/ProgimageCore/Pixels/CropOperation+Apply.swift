public import ProgimageAPI
package import GD

extension CropOperation: PixelStep {
    /// The region is in logical coordinates; when the image was decoded smaller they are
    /// scaled to its actual size.
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        let region = try clipped(to: context.logicalInput)
        let sx = Double(image.width) / Double(context.logicalInput.width)
        let sy = Double(image.height) / Double(context.logicalInput.height)
        let x = min(image.width - 1, Int(Double(region.x) * sx))
        let y = min(image.height - 1, Int(Double(region.y) * sy))
        let width = max(1, min(image.width - x, Int((Double(region.width) * sx).rounded())))
        let height = max(1, min(image.height - y, Int((Double(region.height) * sy).rounded())))
        do {
            return try image.cropped(x: x, y: y, width: width, height: height)
        } catch {
            throw error.serviceError
        }
    }
}
