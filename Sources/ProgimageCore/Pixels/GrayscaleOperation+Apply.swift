public import ProgimageAPI
package import GD

extension GrayscaleOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            return try image.grayscaled()
        } catch {
            throw error.serviceError
        }
    }
}
