package import GD
package import ProgimageAPI
import WebP

extension ImageDecoder {
    /// Any WebP, still or animated, through libwebp's animation decoder: the first frame on
    /// the canvas `ImageHeader.readWebP` reports (libgd 2.3.3 refused every animated WebP).
    static func decodeWebP(_ bytes: [UInt8]) throws -> GDImage {
        var decoded: WebPDecoder.Pixels
        do {
            decoded = try WebPDecoder.decode(bytes)
        } catch .incomplete {
            throw ServiceError(.corruptImage, "the webp image is truncated")
        }
        return try image(
            &decoded.rgba, width: decoded.width, height: decoded.height, icc: decoded.iccProfile)
    }

    /// The thumbnail path for a still, upright, opaque WebP: decoded straight to `target`
    /// by libwebp's rescaler, colour converted at that size. nil when it does not apply (an
    /// animation, EXIF-rotated, or an alpha channel: libwebp rescales a lossy file's colour
    /// and alpha apart, so the colour of invisible pixels bled into the visible edges, a
    /// white ring on transparent dark as dark as 221 on white where the premultiplied
    /// resample of the general path gives 253.5).
    package static func decodeWebP(
        _ bytes: [UInt8], maxPixels: Int, resizedTo target: ImageSize
    ) throws(ServiceError) -> GDImage? {
        guard ExifOrientation.read(from: bytes, format: .webp) == .up, !DeclaredAlphaChannel.isDeclared(in: bytes, format: .webp)
        else { return nil }
        try checkPixelLimit(storedSize(of: bytes, format: .webp), maxPixels: maxPixels)
        let still: WebPDecoder.Pixels?
        do {
            still = try WebPDecoder.decodeStill(bytes, scaledTo: target.width, target.height)
        } catch .incomplete {
            throw ServiceError(.corruptImage, "the webp image is truncated")
        } catch {
            throw ServiceError(.corruptImage, "the webp image does not decode completely")
        }
        guard var decoded = still else { return nil }
        do {
            return try image(
                &decoded.rgba, width: decoded.width, height: decoded.height, icc: decoded.iccProfile)
        } catch {
            throw error.serviceError
        }
    }
}
