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
        let (width, height, n) = (pixels.width, pixels.height, channels(pixels))
        // Output: `height` wide, `width` tall; output (x, y) is source (width − 1 − y, x).
        let stride = height * n
        var out = [UInt8](repeating: 0, count: stride * width)
        pixels.bytes.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<width {
                    let sourceX = width - 1 - y
                    for x in 0..<height {
                        let from = x * pixels.stride + sourceX * n, to = y * stride + x * n
                        for c in 0..<n { target[to + c] = source[from + c] }
                    }
                }
            }
        }
        return pixels.replacing(width: height, height: width, stride: stride, bytes: out)
    }

    private static func mirrored(_ pixels: HEIFDecoder.Pixels, leftRight: Bool) -> HEIFDecoder.Pixels {
        let (width, height, n) = (pixels.width, pixels.height, channels(pixels))
        let stride = width * n
        var out = [UInt8](repeating: 0, count: stride * height)
        pixels.bytes.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let sourceY = leftRight ? y : height - 1 - y
                    for x in 0..<width {
                        let sourceX = leftRight ? width - 1 - x : x
                        let from = sourceY * pixels.stride + sourceX * n, to = y * stride + x * n
                        for c in 0..<n { target[to + c] = source[from + c] }
                    }
                }
            }
        }
        return pixels.replacing(width: width, height: height, stride: stride, bytes: out)
    }
}
