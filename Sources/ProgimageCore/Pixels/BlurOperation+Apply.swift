public import ProgimageAPI
package import GD

extension BlurOperation: PixelStep {
    /// Sigma is in logical pixels; on a shrink-on-load image it shrinks with the image.
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        let scale = Double(image.width) / Double(context.logicalInput.width)
        do {
            return try image.blurred(sigma: max(0.1, sigma * scale))
        } catch {
            throw error.serviceError
        }
    }
}
