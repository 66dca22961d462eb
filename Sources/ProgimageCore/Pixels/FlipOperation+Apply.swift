public import ProgimageAPI
public import GD

extension FlipOperation: PixelStep {
    public func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        image.flipped(horizontally: horizontal, vertically: vertical)
    }
}
