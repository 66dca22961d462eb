import Dispatch
import GD

/// Two separable filter passes (a resampling's or a blur's) over 8-bit straight R,G,B,A rows,
/// in premultiplied floats: colours weighted by their opacity, so an invisible pixel's colour
/// does not bleed into its neighbours, and every alpha level and every colour of a faint
/// pixel kept. libgd's path, for images with transparency, had 7-bit alpha (a 256-level
/// ramp reduced 2× came back with 128 levels) and premultiplied in 8 bits (a pixel of alpha
/// 10 kept ~10 levels of each colour).
///
/// Horizontal pass first, on source rows, into a ring as tall as the vertical taps; then
/// each output row: as `GDImage.resampled`, whose taps (`SignedFilterTaps`) these are.
struct PremultipliedConvolution {
    let sourceWidth: Int
    let horizontal: Taps
    let vertical: Taps

    var width: Int { horizontal.starts.count }
    var height: Int { vertical.starts.count }

    /// One axis's taps as float weights (each sample's sum to one, as the fixed-point ones).
    struct Taps {
        let starts: [Int]
        let counts: [Int]
        let weights: [Float]
        let stride: Int

        init(_ taps: SignedFilterTaps) {
            starts = taps.starts
            counts = taps.counts
            stride = taps.stride
            let one = Float(SignedFilterTaps.one)
            weights = taps.weights.map { Float($0) / one }
        }
    }

    init(sourceWidth: Int, horizontal: SignedFilterTaps, vertical: SignedFilterTaps) {
        self.sourceWidth = sourceWidth
        self.horizontal = Taps(horizontal)
        self.vertical = Taps(vertical)
    }

    /// Every output row, handed to `outputRow` as premultiplied pixels (`straightened`
    /// makes bytes of them); a large output as two bands on two threads, each with its own
    /// ring. `sourceRow` writes premultiplied source row y (`premultiplied`); it may be
    /// called from either thread.
    func run(
        sourceRow: (Int, UnsafeMutablePointer<SIMD4<Float>>) -> Void,
        outputRow: (Int, UnsafePointer<SIMD4<Float>>) -> Void
    ) {
        let parts = width * height >= 1 << 18 && height >= 2 ? 2 : 1
        guard parts > 1 else { return run(rows: 0..<height, sourceRow: sourceRow, outputRow: outputRow) }
        withoutActuallyEscaping(sourceRow) { sourceRow in
            withoutActuallyEscaping(outputRow) { outputRow in
                let access = RowAccess(sourceRow: sourceRow, outputRow: outputRow)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    run(
                        rows: height * part / parts..<height * (part + 1) / parts, sourceRow: access.sourceRow,
                        outputRow: access.outputRow)
                }
            }
        }
    }

    private func run(
        rows: Range<Int>, sourceRow: (Int, UnsafeMutablePointer<SIMD4<Float>>) -> Void,
        outputRow: (Int, UnsafePointer<SIMD4<Float>>) -> Void
    ) {
        guard !rows.isEmpty else { return }
        let width = self.width
        let ringRows = vertical.counts.max() ?? 1
        let ring = UnsafeMutableBufferPointer<SIMD4<Float>>.allocate(capacity: ringRows * width)
        let source = UnsafeMutableBufferPointer<SIMD4<Float>>.allocate(capacity: sourceWidth)
        let output = UnsafeMutableBufferPointer<SIMD4<Float>>.allocate(capacity: width)
        defer {
            ring.deallocate()
            source.deallocate()
            output.deallocate()
        }
        var ringHolds = [Int](repeating: -1, count: ringRows)
        horizontal.starts.withUnsafeBufferPointer { hStarts in
            horizontal.counts.withUnsafeBufferPointer { hCounts in
                horizontal.weights.withUnsafeBufferPointer { hWeights in
                    vertical.weights.withUnsafeBufferPointer { vWeights in
                        let hStride = horizontal.stride
                        for y in rows {
                            let first = vertical.starts[y], taps = vertical.counts[y]
                            for sourceY in first..<(first + taps) where ringHolds[sourceY % ringRows] != sourceY {
                                ringHolds[sourceY % ringRows] = sourceY
                                sourceRow(sourceY, source.baseAddress!)
                                let slot = ring.baseAddress! + (sourceY % ringRows) * width
                                for x in 0..<width {
                                    let start = hStarts[x], base = x * hStride
                                    var sum = SIMD4<Float>.zero
                                    for k in 0..<hCounts[x] { sum += source[start + k] * hWeights[base + k] }
                                    slot[x] = sum
                                }
                            }
                            let base = y * vertical.stride
                            let firstSlot = ring.baseAddress! + (first % ringRows) * width
                            let firstWeight = vWeights[base]
                            for x in 0..<width { output[x] = firstSlot[x] * firstWeight }
                            for k in 1..<max(1, taps) {
                                let slot = ring.baseAddress! + ((first + k) % ringRows) * width
                                let weight = vWeights[base + k]
                                for x in 0..<width { output[x] += slot[x] * weight }
                            }
                            outputRow(y, UnsafePointer(output.baseAddress!))
                        }
                    }
                }
            }
        }
    }

    /// `count` straight R,G,B,A pixels as (R·α, G·α, B·α, A), α = A / 255.
    static func premultiplied(_ bytes: UnsafePointer<UInt8>, count: Int, into target: UnsafeMutablePointer<SIMD4<Float>>) {
        for x in 0..<count {
            let pixel = SIMD4<Float>(Float(bytes[4 * x]), Float(bytes[4 * x + 1]), Float(bytes[4 * x + 2]), Float(bytes[4 * x + 3]))
            let opacity = pixel[3] * (1 / 255)
            target[x] = SIMD4(pixel[0] * opacity, pixel[1] * opacity, pixel[2] * opacity, pixel[3])
        }
    }

    /// Back to straight bytes, rounded and clamped: a colour divided by its own alpha (not
    /// the rounded one), and a pixel whose alpha rounds to 0 transparent black, as libgd's
    /// path makes it. A cubic's overshoot is clamped after the division.
    static func straightened(_ pixels: UnsafePointer<SIMD4<Float>>, count: Int, into bytes: UnsafeMutablePointer<UInt8>) {
        for x in 0..<count {
            let pixel = pixels[x]
            let alpha = min(255, max(0, pixel[3]))
            guard alpha >= 0.5 else {
                (bytes + 4 * x).initialize(repeating: 0, count: 4)
                continue
            }
            let colour = pixel * (255 / pixel[3])
            func byte(_ value: Float) -> UInt8 { UInt8(min(255, max(0, value)) + 0.5) }
            bytes[4 * x] = byte(colour[0])
            bytes[4 * x + 1] = byte(colour[1])
            bytes[4 * x + 2] = byte(colour[2])
            bytes[4 * x + 3] = UInt8(alpha + 0.5)
        }
    }
}

/// The row accessors the two bands share: sources are only read, and each band hands out
/// only its own output rows.
private struct RowAccess: @unchecked Sendable {
    let sourceRow: (Int, UnsafeMutablePointer<SIMD4<Float>>) -> Void
    let outputRow: (Int, UnsafePointer<SIMD4<Float>>) -> Void
}
