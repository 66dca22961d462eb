/// Per-output-sample taps of a tent (triangle) filter mapping `source` samples onto
/// `target`, with a support that widens with the reduction as an area filter's must.
/// Weights are 16-bit fixed point summing to 1 << 16 (a lone full weight is stored as
/// 65535: the rounding of the result absorbs the 1/65536 it loses), so that the inner
/// loops can use one unsigned multiply-high per lane (SSE2's `pmulhuw`).
struct TentTaps {
    /// First source sample of each output sample.
    let starts: [Int]
    /// Taps of each output sample; even when `pairs` was asked for (a zero weight pads).
    let counts: [Int]
    /// `stride` weights per output sample, the unused ones zero.
    let weights: [UInt16]
    let stride: Int

    init(source: Int, target: Int, pairs: Bool) {
        let scale = Double(source) / Double(target)
        let support = max(1, scale)
        var stride = Int((support * 2).rounded(.up)) + 2
        if pairs, stride % 2 == 1 { stride += 1 }
        var starts = [Int](repeating: 0, count: target)
        var counts = [Int](repeating: 0, count: target)
        var weights = [UInt16](repeating: 0, count: target * stride)
        for i in 0..<target {
            let center = (Double(i) + 0.5) * scale
            var low = max(0, Int((center - support).rounded(.down)))
            let high = min(source, Int((center + support).rounded(.up)))
            var raw = (low..<high).map { max(0, 1 - abs(Double($0) + 0.5 - center) / support) }
            // Taps the tent gives nothing are not worth a multiply.
            while raw.count > 1, raw.first == 0 { raw.removeFirst(); low += 1 }
            while raw.count > 1, raw.last == 0 { raw.removeLast() }
            let total = raw.reduce(0, +)
            var fixed = raw.map { Int(($0 / total * 65536).rounded()) }
            // Put the rounding error on the largest tap, so the weights sum to exactly 1.
            if let largest = fixed.indices.max(by: { fixed[$0] < fixed[$1] }) {
                fixed[largest] += 65536 - fixed.reduce(0, +)
            }
            if pairs, fixed.count % 2 == 1 { fixed.append(0) }
            starts[i] = low
            counts[i] = fixed.count
            for (k, weight) in fixed.enumerated() { weights[i * stride + k] = UInt16(min(65535, weight)) }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.stride = stride
    }
}
