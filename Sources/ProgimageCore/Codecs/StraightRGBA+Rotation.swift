import ProgimageAPI
import GD

/// `rotate` by an angle other than a quarter turn, on 8-bit straight rows: `GDImage.rotated`'s
/// map and bilinear weights, blended premultiplied in floats with a transparent background,
/// where libgd's path held alpha in 7 bits.
extension StraightRGBA {
    /// Rotated clockwise by `degrees` (not a multiple of 90) into the bounding box
    /// `RotateOperation` plans, transparent where no source pixel lands; edges blend with
    /// that transparency as the bilinear weights say.
    func rotated(by rotate: RotateOperation) throws(ServiceError) -> StraightRGBA {
        let planned = try rotate.outputSize(for: ImageSize(width: width, height: height))
        let (outWidth, outHeight) = (planned.width, planned.height)
        let (bytes, overflow) = (outWidth * 4).multipliedReportingOverflow(by: outHeight)
        guard !overflow else { throw ServiceError(.imageTooLarge, "\(planned) is too large to make") }
        let map = RotationMap(
            degrees: ((rotate.degrees % 360) + 360) % 360, sourceWidth: width, sourceHeight: height, width: outWidth,
            height: outHeight)
        var out = [UInt8](repeating: 0, count: bytes)
        let (sourceWidth, sourceHeight) = (width, height)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                inRowHalves(width: outWidth, height: outHeight) { rows in
                    let row = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: outWidth)
                    defer { row.deallocate() }
                    for y in rows {
                        for x in 0..<outWidth {
                            row[x] = Self.sample(
                                source.baseAddress!, width: sourceWidth, height: sourceHeight, at: map.position(x: x, y: y))
                        }
                        PremultipliedConvolution.straightened(row, count: outWidth, into: target.baseAddress! + y * outWidth * 4)
                    }
                }
            }
        }
        return StraightRGBA(pixels: out, width: outWidth, height: outHeight)
    }

    /// The bilinear blend at 16.16 position (`u`, `v`) of the premultiplied pixels around it
    /// (transparent outside the image), with `GDImage.rotated`'s 8-bit fractions.
    @inline(__always)
    private static func sample(
        _ bytes: UnsafePointer<UInt8>, width: Int, height: Int, at position: (u: Int, v: Int)
    ) -> SIMD4<Float> {
        let (ix, iy) = (position.u >> 16, position.v >> 16)
        guard ix >= -1, iy >= -1, ix < width, iy < height else { return .zero }
        let fu = Float((position.u >> 8) & 0xFF) / 256, fv = Float((position.v >> 8) & 0xFF) / 256
        @inline(__always) func pixel(_ px: Int, _ py: Int) -> SIMD4<Float> {
            guard px >= 0, py >= 0, px < width, py < height else { return .zero }
            return PremultipliedConvolution.premultiplied(bytes + (py * width + px) * 4)
        }
        let top = pixel(ix, iy) * (1 - fu) + pixel(ix + 1, iy) * fu
        let bottom = pixel(ix, iy + 1) * (1 - fu) + pixel(ix + 1, iy + 1) * fu
        return top * (1 - fv) + bottom * fv
    }
}
