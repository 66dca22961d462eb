internal import CLittleCMS

/// The conversion between two matrix/TRC RGB profiles (what phones and cameras embed:
/// Display P3, Adobe RGB), done directly: per channel a table to linear light, one 3×3
/// matrix, a table back to sRGB's curve. LittleCMS builds a 3D lookup table for these,
/// ~10–13 ns a pixel here; this is the arithmetic a matrix-shaper transform is, with
/// LittleCMS still reading the profiles and evaluating their curves. It is used only when
/// its 8-bit form agrees with LittleCMS's own transform within one level on a 16³ grid.
///
/// 16-bit input (`inputBits` 16) has a table entry for every input value: LittleCMS's
/// own 16-bit transform interpolates a lookup table and came out up to 27 levels from an
/// exact (double, unoptimised) conversion near the gamut's edge (ProPhoto, 2 M random
/// colours; reducing to 8 bits first, up to 20), where this stays within one.
struct MatrixShaperTransform: Sendable {
    /// Bits a sample of the input has: 8, or 16.
    let inputBits: Int
    /// Linear light of each input value, per channel R, G, B.
    private let linear: [[Float]]
    /// Row-major: output linear R, G, B from input linear R, G, B.
    private let matrix: [Float]
    /// sRGB-encoded 8-bit value of linear light `i / encodeSteps`.
    private let encode: [UInt8]
    /// 4095 for 8-bit input; 16383 for 16-bit, where a step is a fifth of an output level
    /// at the steepest of sRGB's curve (12.92 × 255 levels per unit of light).
    private let encodeSteps: Int

    /// nil unless both profiles are RGB matrix/TRC profiles whose tags read.
    init?(from input: cmsHPROFILE, to output: cmsHPROFILE, inputBits: Int = 8) {
        guard inputBits == 8 || inputBits == 16, cmsGetColorSpace(input) == cmsSigRgbData, cmsIsMatrixShaper(input) != 0,
            cmsIsMatrixShaper(output) != 0, let inputColumns = Self.colorants(input),
            let outputColumns = Self.colorants(output), let inverse = Self.inverted(outputColumns)
        else { return nil }
        let largest = (1 << inputBits) - 1
        var linear: [[Float]] = []
        for tag in [cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag] {
            guard let curve = cmsReadTag(input, tag) else { return nil }
            let tone = OpaquePointer(curve)
            let table = (0...largest).map { cmsEvalToneCurveFloat(tone, Float($0) / Float(largest)) }
            // A crafted curve can evaluate to NaN or infinity (a fuzzed HEIC's profile did,
            // and `Int(NaN)` trapped the worker): such a profile gets LittleCMS's transform.
            guard table.allSatisfy(\.isFinite) else { return nil }
            linear.append(table)
        }
        // sRGB's three curves are the same: one reversed table serves all channels.
        guard let outputCurve = cmsReadTag(output, cmsSigRedTRCTag), let reversed = cmsReverseToneCurve(OpaquePointer(outputCurve))
        else { return nil }
        defer { cmsFreeToneCurve(reversed) }
        let steps = inputBits == 8 ? 4095 : 16383
        encode = (0...steps).map { step in
            let value = cmsEvalToneCurveFloat(reversed, Float(step) / Float(steps))
            return value.isFinite ? UInt8(clamping: Int((min(max(value, 0), 1) * 255).rounded())) : 0
        }
        var matrix = [Float](repeating: 0, count: 9)
        for row in 0..<3 {
            for column in 0..<3 {
                matrix[row * 3 + column] = Float((0..<3).map { inverse[row * 3 + $0] * inputColumns[$0 * 3 + column] }.reduce(0, +))
            }
        }
        guard matrix.allSatisfy(\.isFinite) else { return nil }
        self.inputBits = inputBits
        self.linear = linear
        self.matrix = matrix
        self.encodeSteps = steps
    }

    /// Converts pixels in place; `red`, `green`, `blue` are the byte offsets in a pixel.
    func apply(
        _ pixels: inout [UInt8], width: Int, height: Int, stride: Int, bytesPerPixel: Int, red: Int, green: Int, blue: Int
    ) {
        precondition(inputBits == 8)
        withTables { tables in
            pixels.withUnsafeMutableBufferPointer { bytes in
                for y in 0..<height {
                    var at = y * stride
                    for _ in 0..<width {
                        (bytes[at + red], bytes[at + green], bytes[at + blue]) = tables.converted(
                            Int(bytes[at + red]), Int(bytes[at + green]), Int(bytes[at + blue]))
                        at += bytesPerPixel
                    }
                }
            }
        }
    }

    /// Converts `count` pixels of 16-bit R,G,B (`channels` 3) or R,G,B,A (4) samples into
    /// 8-bit R,G,B,A (alpha rounded; 255 without one), or R,G,B (`outputChannels` 3),
    /// rounding once, at the end.
    func apply(
        _ samples: UnsafeBufferPointer<UInt16>, channels: Int, count: Int, into out: UnsafeMutableBufferPointer<UInt8>,
        outputChannels: Int = 4
    ) {
        precondition(inputBits == 16 && (channels == 3 || channels == 4) && (outputChannels == 3 || outputChannels == 4))
        precondition(samples.count >= count * channels && out.count >= count * outputChannels)
        withTables { tables in
            var from = 0
            for at in Swift.stride(from: 0, to: count * outputChannels, by: outputChannels) {
                (out[at], out[at + 1], out[at + 2]) = tables.converted(
                    Int(samples[from]), Int(samples[from + 1]), Int(samples[from + 2]))
                if outputChannels == 4 {
                    out[at + 3] = channels == 4 ? UInt8((UInt32(samples[from + 3]) * 255 + 32767) / 65535) : 255
                }
                from += channels
            }
        }
    }

    /// The tables and the matrix, bound for one conversion's loop.
    private struct BoundTables {
        let red, green, blue: UnsafeBufferPointer<Float>
        let encode: UnsafeBufferPointer<UInt8>
        let matrix: (Float, Float, Float, Float, Float, Float, Float, Float, Float)
        let steps: Float

        /// One pixel's input values (indices into the linear tables) to 8-bit sRGB.
        @inline(__always)
        func converted(_ r: Int, _ g: Int, _ b: Int) -> (UInt8, UInt8, UInt8) {
            let (lr, lg, lb) = (red[r], green[g], blue[b])
            let m = matrix
            return (
                encoded(m.0 * lr + m.1 * lg + m.2 * lb), encoded(m.3 * lr + m.4 * lg + m.5 * lb),
                encoded(m.6 * lr + m.7 * lg + m.8 * lb)
            )
        }

        @inline(__always)
        private func encoded(_ value: Float) -> UInt8 { encode[Int(min(max(value, 0), 1) * steps + 0.5)] }
    }

    private func withTables(_ body: (BoundTables) -> Void) {
        let m = matrix
        linear[0].withUnsafeBufferPointer { red in
            linear[1].withUnsafeBufferPointer { green in
                linear[2].withUnsafeBufferPointer { blue in
                    encode.withUnsafeBufferPointer { encode in
                        body(
                            BoundTables(
                                red: red, green: green, blue: blue, encode: encode,
                                matrix: (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]), steps: Float(encodeSteps)))
                    }
                }
            }
        }
    }

    /// Row-major XYZ of the red, green and blue colorants as columns (D50, as ICC keeps them).
    private static func colorants(_ profile: cmsHPROFILE) -> [Double]? {
        var columns: [cmsCIEXYZ] = []
        for tag in [cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag] {
            guard let xyz = cmsReadTag(profile, tag) else { return nil }
            columns.append(xyz.assumingMemoryBound(to: cmsCIEXYZ.self).pointee)
        }
        return [
            columns[0].X, columns[1].X, columns[2].X,
            columns[0].Y, columns[1].Y, columns[2].Y,
            columns[0].Z, columns[1].Z, columns[2].Z,
        ]
    }

    private static func inverted(_ m: [Double]) -> [Double]? {
        let (a, b, c, d, e, f, g, h, i) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
        let determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
        guard abs(determinant) > 1e-12 else { return nil }
        return [
            (e * i - f * h), (c * h - b * i), (b * f - c * e),
            (f * g - d * i), (a * i - c * g), (c * d - a * f),
            (d * h - e * g), (b * g - a * h), (a * e - b * d),
        ].map { $0 / determinant }
    }
}
