/// Two separable filter passes over rows of packed 4-byte pixels (B, G, R, X in memory
/// order): the tent of resampling and the Gaussian of blurring are the same loops with
/// other taps.
///
/// Vertical first, one output row at a time, so the horizontal pass (the one with a
/// different window per pixel) runs on the fewer output rows and the intermediate is a
/// single row that stays in cache. Samples are 8.8 fixed point in 16-bit lanes and each
/// tap is one unsigned multiply-high: eight lanes per SSE2 instruction on baseline
/// x86-64, where 32-bit lane multiplies are emulated (3.2 ms → 1.3 ms for a thumbnail).
/// Against the 14-bit two-pass version it replaced, no channel moved by more than 1.
struct SeparableConvolution: Sendable, RowFilter {
    let sourceWidth: Int
    let sourceHeight: Int
    /// Source rows as B,G,R,X (libgd's, the JPEG decoder's) or packed R,G,B (a PNG
    /// decoder's), widened to the same B,G,R,X lanes.
    var sourceIsRGB = false
    let vertical: FilterTaps
    /// Built with `pairs: true`: the horizontal pass takes its taps two at a time.
    let horizontal: FilterTaps

    /// The largest reduction a tent takes in one go. Its taps grow with the reduction (about
    /// two per unit), and past ~255 units the rounding compensation in `run` is capped to
    /// keep a row within 16 bits: a 6000 → 1 tent came out 21 levels dark. Larger
    /// reductions are area pre-shrunk first.
    static let exactReduction = 128

    var width: Int { horizontal.starts.count }
    var height: Int { vertical.starts.count }

    func sourceRows(for rows: Range<Int>) -> Range<Int> {
        vertical.starts[rows.lowerBound]..<(vertical.starts[rows.upperBound - 1] + vertical.counts[rows.upperBound - 1])
    }

    /// Separable tent resampling from `sourceWidth`×`sourceHeight` to `width`×`height`.
    /// `extent`: what an area pre-shrunk source stands for (`FilterTaps.tent`).
    static func tent(
        sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, extent: (width: Double, height: Double)? = nil
    ) -> SeparableConvolution {
        SeparableConvolution(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight,
            vertical: .tent(source: sourceHeight, target: height, pairs: false, extent: extent?.height),
            horizontal: .tent(source: sourceWidth, target: width, pairs: true, extent: extent?.width))
    }

    /// Gaussian blur of standard deviation `sigma`, same size in and out.
    static func gaussian(width: Int, height: Int, sigma: Double) -> SeparableConvolution {
        SeparableConvolution(
            sourceWidth: width, sourceHeight: height,
            vertical: .gaussian(size: height, sigma: sigma, pairs: false),
            horizontal: .gaussian(size: width, sigma: sigma, pairs: true))
    }

    func run(
        bands nextBand: () -> Range<Int>?, sourceRow: (Int) -> UnsafeRawPointer,
        outputRow: (Int) -> UnsafeMutableRawPointer, fourthChannel: Bool
    ) {
        let outputMask: UInt32 = fourthChannel ? 0xFFFF_FFFF : 0x00FF_FFFF
        let lanes = sourceWidth * 4
        // One pixel more than the row, for the zero-weight partner of a last odd tap, and
        // whole 8-lane vectors.
        let rowLanes = (lanes + 4 + 7) & ~7
        // Source rows widened to 8.8.
        var ring = WidenedRowRing(rows: vertical.stride, lanes: rowLanes)
        let row = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: rowLanes)
        row.initialize(repeating: 0)
        defer { row.deallocate() }
        let pairWeights = Self.pairWeights(horizontal)
        // Each multiply-high drops half a unit of 8.8 on average: a Gaussian of σ 50 (301
        // taps a pass) came out 1.7 levels dark before the vertical pass started each row
        // at its taps' share of that and the horizontal pass rounded with its own. Both
        // stop at 255 units, which no σ up to 50 reaches: a row stays within 16 bits, and
        // the horizontal pass rounds `sum / 2` to leave the same room.
        let roundings = horizontal.counts.map { UInt16(min(255, (128 + $0 / 2) / 2)) }

        pairWeights.withUnsafeBufferPointer { pairWeights in
            roundings.withUnsafeBufferPointer { roundings in
                while let rows = nextBand() {
                    for y in rows {
                        for k in 0..<vertical.counts[y] {
                            let sourceY = vertical.starts[y] + k
                            let slot = ring.row(sourceY) { slot in
                                if sourceIsRGB {
                                    Self.widenRGB(
                                        sourceRow(sourceY).assumingMemoryBound(to: UInt8.self), pixels: sourceWidth, into: slot)
                                } else {
                                    Self.widen(sourceRow(sourceY).assumingMemoryBound(to: UInt8.self), lanes: lanes, into: slot)
                                }
                            }
                            let weight = vertical.weights[y * vertical.stride + k]
                            if k == 0 {
                                // Starts the row at what this row's multiplies will drop on average.
                                let bias = UInt16(min(255, vertical.counts[y] / 2))
                                Self.accumulate(slot, weight: weight, lanes: lanes, into: row.baseAddress!, startingAt: bias)
                            } else {
                                Self.accumulate(slot, weight: weight, lanes: lanes, into: row.baseAddress!, startingAt: nil)
                            }
                        }
                        Self.horizontalPass(
                            row.baseAddress!, taps: horizontal, pairWeights: pairWeights.baseAddress!,
                            roundings: roundings.baseAddress!, into: outputRow(y).assumingMemoryBound(to: UInt32.self),
                            width: width, mask: outputMask)
                    }
                }
            }
        }
    }

    /// Each pair of horizontal taps as one 8-lane vector: the first weight on the four
    /// bytes of one pixel, the second on the next pixel's.
    private static func pairWeights(_ taps: FilterTaps) -> [SIMD8<UInt16>] {
        let pairs = taps.stride / 2
        var vectors = [SIMD8<UInt16>](repeating: .zero, count: taps.starts.count * pairs)
        for x in taps.starts.indices {
            for pair in 0..<(taps.counts[x] / 2) {
                let first = taps.weights[x * taps.stride + 2 * pair], second = taps.weights[x * taps.stride + 2 * pair + 1]
                vectors[x * pairs + pair] = SIMD8(first, first, first, first, second, second, second, second)
            }
        }
        return vectors
    }

    @inline(__always)
    private static func widen(_ bytes: UnsafePointer<UInt8>, lanes: Int, into target: UnsafeMutablePointer<UInt16>) {
        for i in 0..<lanes { target[i] = UInt16(bytes[i]) &<< 8 }
    }

    /// R,G,B bytes into B,G,R,0 lanes.
    @inline(__always)
    private static func widenRGB(_ bytes: UnsafePointer<UInt8>, pixels: Int, into target: UnsafeMutablePointer<UInt16>) {
        for x in 0..<pixels {
            target[4 &* x] = UInt16(bytes[3 &* x &+ 2]) &<< 8
            target[4 &* x &+ 1] = UInt16(bytes[3 &* x &+ 1]) &<< 8
            target[4 &* x &+ 2] = UInt16(bytes[3 &* x]) &<< 8
            target[4 &* x &+ 3] = 0
        }
    }

    /// `row += source × weight` over every lane, or `row = start + source × weight` for
    /// the first tap (no zero-fill per output row); callers pass `nil` or not, so each
    /// inlined copy has one loop. The widened row must come from memory: LLVM folds a
    /// byte's `<< 8` into the multiply and loses `pmulhuw` otherwise.
    @inline(__always)
    private static func accumulate(
        _ source: UnsafePointer<UInt16>, weight: UInt16, lanes: Int, into row: UnsafeMutablePointer<UInt16>,
        startingAt start: UInt16?
    ) {
        let weights = SIMD8<UInt16>(repeating: weight)
        let initial = SIMD8<UInt16>(repeating: start ?? 0)
        var i = 0
        while i < lanes {
            let sample = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<UInt16>.self)
            let previous = start != nil ? initial : UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<UInt16>.self)
            let sum = previous &+ multiplyHigh(sample, weights)
            UnsafeMutableRawPointer(row + i).storeBytes(of: sum, as: SIMD8<UInt16>.self)
            i += 8
        }
    }

    @inline(__always)
    private static func horizontalPass(
        _ row: UnsafePointer<UInt16>, taps: FilterTaps, pairWeights: UnsafePointer<SIMD8<UInt16>>,
        roundings: UnsafePointer<UInt16>,
        into target: UnsafeMutablePointer<UInt32>, width: Int, mask: UInt32
    ) {
        let pairs = taps.stride / 2
        taps.starts.withUnsafeBufferPointer { starts in
            taps.counts.withUnsafeBufferPointer { counts in
                for x in 0..<width {
                    let window = row + starts[x] * 4
                    let weights = pairWeights + x * pairs
                    var sum = SIMD8<UInt16>.zero
                    for pair in 0..<(counts[x] / 2) {
                        sum &+= multiplyHigh(UnsafeRawPointer(window + pair * 8).loadUnaligned(as: SIMD8<UInt16>.self), weights[pair])
                    }
                    // At most (255 << 8) + the row's bias, as the weights sum to one, so at
                    // most 257 after rounding.
                    let half = (sum.lowHalf &+ sum.highHalf) &>> 1
                    let rounded = (half &+ SIMD4<UInt16>(repeating: roundings[x])) &>> 7
                    let pixel = pointwiseMin(rounded, SIMD4<UInt16>(repeating: 255))
                    // libgd's alpha byte 0 is opaque; the JPEG decoder's X byte is 0xFF, or K after a CMYK conversion.
                    target[x] = unsafeBitCast(SIMD4<UInt8>(truncatingIfNeeded: pixel), to: UInt32.self) & mask
                }
            }
        }
    }
}
