import HEIF

/// A HEIF/AVIF transformative property of the primary image, applied after decoding in the
/// order the container lists them. libheif 1.15 applies them itself, except that it cannot
/// mirror an image deeper than 8 bits ("Can currently only mirror images with 8 bits per
/// pixel"): such a file, a valid 10-bit HEIC or AVIF with `imir`, was refused as corrupt.
/// For those the decode leaves the transformations to `applied(to:)`, on the 8-bit rows
/// libheif hands back.
enum HEIFTransform: Equatable, Sendable {
    /// `irot`: quarter turns counter-clockwise.
    case rotateCounterClockwise(quarterTurns: Int)
    /// `imir`.
    case mirror(leftRight: Bool)
    /// `clap`: a crop whose rounding is libheif's; not done here.
    case cleanAperture

    /// `pixels` with `transforms` applied in order; nil when one of them is a clean aperture.
    static func applied(_ transforms: [HEIFTransform], to pixels: HEIFDecoder.Pixels) -> HEIFDecoder.Pixels? {
        var result = pixels
        for transform in transforms {
            switch transform {
            case .rotateCounterClockwise(let turns):
                for _ in 0..<(turns % 4) { result = rotatedCounterClockwise(result) }
            case .mirror(let leftRight):
                result = mirrored(result, leftRight: leftRight)
            case .cleanAperture:
                return nil
            }
        }
        return result
    }

    private static func channels(_ pixels: HEIFDecoder.Pixels) -> Int { pixels.hasAlpha ? 4 : 3 }

    /// A quarter turn counter-clockwise: the top row becomes the left column, read upwards.
    private static func rotatedCounterClockwise(_ pixels: HEIFDecoder.Pixels) -> HEIFDecoder.Pixels {
        remapped(pixels, width: pixels.height, height: pixels.width) { x, y in (pixels.width - 1 - y, x) }
    }

    private static func mirrored(_ pixels: HEIFDecoder.Pixels, leftRight: Bool) -> HEIFDecoder.Pixels {
        remapped(pixels, width: pixels.width, height: pixels.height) { x, y in
            leftRight ? (pixels.width - 1 - x, y) : (x, pixels.height - 1 - y)
        }
    }

    /// A `width` × `height` image whose pixel (x, y) is `pixels`' at `source(x, y)`.
    private static func remapped(
        _ pixels: HEIFDecoder.Pixels, width: Int, height: Int, source: (Int, Int) -> (x: Int, y: Int)
    ) -> HEIFDecoder.Pixels {
        let n = channels(pixels)
        let stride = width * n
        var out = [UInt8](repeating: 0, count: stride * height)
        pixels.bytes.withUnsafeBufferPointer { from in
            out.withUnsafeMutableBufferPointer { to in
                for y in 0..<height {
                    for x in 0..<width {
                        let (sourceX, sourceY) = source(x, y)
                        let read = sourceY * pixels.stride + sourceX * n, write = y * stride + x * n
                        for c in 0..<n { to[write + c] = from[read + c] }
                    }
                }
            }
        }
        return pixels.replacing(width: width, height: height, stride: stride, bytes: out)
    }
}
