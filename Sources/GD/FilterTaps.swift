#if canImport(Glibc)
import Glibc
#endif

/// Per-output-sample taps of a separable filter, in the fixed point `SeparableConvolution`
/// works in: 16-bit weights summing to 1 << 16 (a lone full weight is stored as 65535: the
/// rounding of the result absorbs the 1/65536 it loses), so that the inner loops can use
/// one unsigned multiply-high per lane (SSE2's `pmulhuw`). Taps that would fall outside
/// the source are left out and the rest renormalized, so edges keep their brightness.
struct FilterTaps: Sendable {
    /// First source sample of each output sample.
    let starts: [Int]
    /// Taps of each output sample; even when `pairs` was asked for (a zero weight pads).
    let counts: [Int]
    /// `stride` weights per output sample, the unused ones zero.
    let weights: [UInt16]
    let stride: Int

    /// A tent mapping `source` samples onto `target`, whose support widens with the
    /// reduction as an area filter's must. `extent`: how many samples the source stands for
    /// when it is an area pre-shrink whose last sample averages a partial block (1800 px
    /// by 13 is 138.46 samples in 139): mapping by the count stretched the content towards
    /// the far edge, by up to a whole output pixel.
    static func tent(source: Int, target: Int, pairs: Bool, extent: Double? = nil) -> FilterTaps {
        let scale = (extent ?? Double(source)) / Double(target)
        let support = max(1, scale)
        return FilterTaps(
            source: source, target: target, support: support, pairs: pairs, lastShare: lastShare(source: source, extent: extent),
            center: { (Double($0) + 0.5) * scale }, weight: { max(0, 1 - abs($0) / support) })
    }

    /// How much of a whole sample the last one stands for, when `extent` says it is
    /// partial (the last box of an area pre-shrink, the last block of a DCT-scaled JPEG);
    /// nil when it is whole. Such a sample is weighed by that share, centred in it: weighed
    /// as a whole one, a 1-row box of a 1203-row image was 14% of a 1×1 placeholder (a
    /// white last row on black came out 37 where the area mean is 0), and a JPEG's last
    /// block, padded by its encoder, darkened a thumbnail's bottom row.
    static func lastShare(source: Int, extent: Double?) -> Double? {
        guard let extent, source > 0 else { return nil }
        let share = extent - Double(source - 1)
        return share > 0 && share < 1 ? share : nil
    }

    /// The filter's weight of source sample `j` for an output sample centred at `centre`:
    /// at its centre's distance, and for a partial last sample (`lastShare`) centred in
    /// what it covers and weighed by its share. Both tap builders weigh samples so.
    static func weigh(
        _ j: Int, source: Int, lastShare: Double?, centre: Double, by weight: (Double) -> Double
    ) -> Double {
        guard let share = lastShare, j == source - 1 else { return weight(Double(j) + 0.5 - centre) }
        return weight(Double(j) + share / 2 - centre) * share
    }

    /// A Gaussian of standard deviation `sigma` over `size` samples, cut at 3σ, where it
    /// has fallen to 1.1% of its peak.
    static func gaussian(size: Int, sigma: Double, pairs: Bool) -> FilterTaps {
        FilterTaps(
            source: size, target: size, support: max(1, 3 * sigma), pairs: pairs,
            lastShare: nil, center: { Double($0) + 0.5 }, weight: { exp(-$0 * $0 / (2 * sigma * sigma)) })
    }

    /// `center` maps an output sample to its position in source coordinates; `weight` is
    /// the filter at a distance from it, zero beyond `support`.
    private init(
        source: Int, target: Int, support: Double, pairs: Bool, lastShare: Double?, center: (Int) -> Double,
        weight: (Double) -> Double
    ) {
        var stride = Int((support * 2).rounded(.up)) + 2
        if pairs, stride % 2 == 1 { stride += 1 }
        var starts = [Int](repeating: 0, count: target)
        var counts = [Int](repeating: 0, count: target)
        var weights = [UInt16](repeating: 0, count: target * stride)
        for i in 0..<target {
            let c = center(i)
            var low = max(0, Int((c - support).rounded(.down)))
            let high = min(source, Int((c + support).rounded(.up)))
            let raw = (low..<high).map { Self.weigh($0, source: source, lastShare: lastShare, centre: c, by: weight) }
            let total = raw.reduce(0, +)
            // Each weight is the step between rounded running sums, so the weights sum to
            // exactly 1 and none is off by more than one unit. Putting the whole rounding
            // error on the largest tap, as before, drove it negative at ~3,000 taps.
            var fixed = [Int]()
            fixed.reserveCapacity(raw.count)
            var running = 0.0
            var previous = 0
            for w in raw {
                running += w / total * 65536
                let rounded = Int(running.rounded())
                fixed.append(rounded - previous)
                previous = rounded
            }
            // Taps that weigh nothing are not worth a multiply.
            while fixed.count > 1, fixed.first == 0 { fixed.removeFirst(); low += 1 }
            while fixed.count > 1, fixed.last == 0 { fixed.removeLast() }
            if pairs, fixed.count % 2 == 1 { fixed.append(0) }
            starts[i] = low
            counts[i] = fixed.count
            for (k, w) in fixed.enumerated() { weights[i * stride + k] = UInt16(min(65535, w)) }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.stride = stride
    }
}
