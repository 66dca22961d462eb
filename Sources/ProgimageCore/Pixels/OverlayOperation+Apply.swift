public import ProgimageAPI
package import GD

extension OverlayOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        var overlay = try context.overlays.image(self.image)
        do {
            // Larger than the base: shrunk to fit inside it, keeping its aspect ratio.
            if overlay.width > image.width || overlay.height > image.height {
                let scale = min(Double(image.width) / Double(overlay.width), Double(image.height) / Double(overlay.height))
                overlay = try overlay.scaled(
                    width: ResizeOperation.scaled(overlay.width, scale), height: ResizeOperation.scaled(overlay.height, scale))
            }
            let (spareX, spareY) = (image.width - overlay.width, image.height - overlay.height)
            let origin = CompassAnchor.origin(gravity.rawValue, spareX: spareX, spareY: spareY)
            return try image.composited(with: overlay, x: origin.0, y: origin.1, opacity: opacity)
        } catch {
            throw error.serviceError
        }
    }
}
