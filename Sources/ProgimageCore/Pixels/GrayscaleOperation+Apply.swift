public import ProgimageAPI
public import GD

extension GrayscaleOperation: PixelStep {
    public func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            return try image.grayscaled()
        } catch {
            throw error.serviceError
        }
    }
}
