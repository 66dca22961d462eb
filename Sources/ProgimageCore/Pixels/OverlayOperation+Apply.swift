public import ProgimageAPI
package import GD

extension OverlayOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        // The overlay as 8-bit straight rows: its alpha in 8 bits over libgd's base too.
        let overlay = try context.overlays.rows(self.image).fitted(inside: ImageSize(width: image.width, height: image.height))
        let (spareX, spareY) = (image.width - overlay.width, image.height - overlay.height)
        let origin = CompassAnchor.origin(gravity.rawValue, spareX: spareX, spareY: spareY)
        do {
            return try image.composited(
                rgba: overlay.pixels, width: overlay.width, height: overlay.height, x: origin.0, y: origin.1, opacity: opacity)
        } catch {
            throw error.serviceError
        }
    }
}
