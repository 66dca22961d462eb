public import ProgimageAPI
package import GD

extension FlipOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        image.flipped(horizontally: horizontal, vertically: vertical)
    }
}
