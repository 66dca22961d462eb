public import ProgimageAPI
package import GD

extension PadOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        do {
            return try image.placedOnCanvas(
                width: planned.width, height: planned.height, x: left, y: top, fill: colour?.packed ?? context.background)
        } catch {
            throw error.serviceError
        }
    }
}
