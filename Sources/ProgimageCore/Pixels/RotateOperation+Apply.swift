public import ProgimageAPI
package import GD

extension RotateOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            return try image.rotated(clockwise: degrees, background: context.background)
        } catch {
            throw error.serviceError
        }
    }
}
