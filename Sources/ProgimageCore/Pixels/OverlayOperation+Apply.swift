public import ProgimageAPI
public import GD

extension OverlayOperation: PixelStep {
    public func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        var overlay = try context.overlays.image(self.image)
        do {
            // Larger than the base: shrunk to fit inside it, keeping its aspect ratio.
            if overlay.width > image.width || overlay.height > image.height {
                let scale = min(Double(image.width) / Double(overlay.width), Double(image.height) / Double(overlay.height))
                overlay = try overlay.scaled(
                    width: ResizeOperation.scaled(overlay.width, scale), height: ResizeOperation.scaled(overlay.height, scale))
            }
            let (spareX, spareY) = (image.width - overlay.width, image.height - overlay.height)
            let origin: (Int, Int)
            switch gravity {
            case .north: origin = (spareX / 2, 0)
            case .northEast: origin = (spareX, 0)
            case .east: origin = (spareX, spareY / 2)
            case .southEast: origin = (spareX, spareY)
            case .south: origin = (spareX / 2, spareY)
            case .southWest: origin = (0, spareY)
            case .west: origin = (0, spareY / 2)
            case .northWest: origin = (0, 0)
            case .centre: origin = (spareX / 2, spareY / 2)
            }
            return try image.composited(with: overlay, x: origin.0, y: origin.1, opacity: opacity)
        } catch {
            throw error.serviceError
        }
    }
}
