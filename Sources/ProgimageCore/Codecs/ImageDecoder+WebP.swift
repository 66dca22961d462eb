import GD
import ProgimageAPI
import WebP

extension ImageDecoder {
    /// Any WebP, still or animated, through libwebp's animation decoder: the first frame on
    /// the canvas `ImageHeader.readWebP` reports (libgd 2.3.3 refused every animated WebP).
    static func decodeWebP(_ bytes: [UInt8], toSRGB: Bool) throws -> GDImage {
        var decoded: WebPDecoder.Pixels
        do {
            decoded = try WebPDecoder.decode(bytes)
        } catch .incomplete {
            throw ServiceError(.corruptImage, "the webp image is truncated")
        }
        if toSRGB {
            SourceColor.convertRGBA(
                &decoded.rgba, width: decoded.width, height: decoded.height, stride: decoded.stride,
                icc: decoded.iccProfile)
        }
        return try GDImage(
            width: decoded.width, height: decoded.height, pixels: decoded.rgba, stride: decoded.stride, layout: .rgba)
    }
}
