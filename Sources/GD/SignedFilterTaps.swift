#if canImport(Glibc)
import Glibc
#endif

/// Per-output-sample taps of a resampling filter whose weights may be negative (a cubic's
/// lobes), which `FilterTaps`'s unsigned 16-bit lanes cannot hold: 14-bit fixed point,
/// each sample's weights summing to exactly `one`. Taps that would fall outside the source
/// are left out and the rest renormalized, as Pillow does, so edges keep their level.
package struct SignedFilterTaps: Sendable {
    package static let fractionBits: Int32 = 14
    package static let one: Int32 = 1 << fractionBits

    /// First source sample of each output sample.
    package let starts: [Int]
    package let counts: [Int]
    /// `stride` weights per output sample, the unused ones zero.
    package let weights: [Int32]
    package let stride: Int

    /// Where the axis grows, Keys' cubic convolution with a = −0.5 (Catmull-Rom: what
    /// Pillow's BICUBIC and libvips's bicubic enlarge with); where it shrinks, the tent
    /// whose support widens with the reduction (`FilterTaps.tent`'s); kept, the identity.
    /// `samples`: the output samples wanted (all by default), the taps of sample
    /// `samples.lowerBound + k` at index k, the same as the whole axis would have there.
    /// `extent`: what an area pre-shrunk source stands for (`FilterTaps.tent`).
    package static func resampling(source: Int, target: Int, samples: Range<Int>? = nil, extent: Double? = nil) -> SignedFilterTaps {
        let scale = (extent ?? Double(source)) / Double(target)
        let samples = samples ?? 0..<target
        let lastShare = FilterTaps.lastShare(source: source, extent: extent)
        if Double(target) >= (extent ?? Double(source)) {
            return SignedFilterTaps(
                source: source, samples: samples, scale: scale, support: 2, lastShare: lastShare, weight: keysCubic)
        }
        return SignedFilterTaps(source: source, samples: samples, scale: scale, support: scale, lastShare: lastShare) {
            max(0, 1 - abs($0) / scale)
        }
    }

    /// A Gaussian of standard deviation `sigma` over `size` samples, cut at 3σ, renormalized
    /// at the edges: `FilterTaps.gaussian`'s, for the blur of 8-bit translucent rows.
    package static func gaussian(size: Int, sigma: Double) -> SignedFilterTaps {
        SignedFilterTaps(source: size, samples: 0..<size, scale: 1, support: max(1, 3 * sigma), lastShare: nil) {
            exp(-$0 * $0 / (2 * sigma * sigma))
        }
    }

    static func keysCubic(_ distance: Double) -> Double {
        let a = -0.5
        let x = abs(distance)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return 0
    }

    /// `lastShare`: `FilterTaps.lastShare`.
    private init(
        source: Int, samples: Range<Int>, scale: Double, support: Double, lastShare: Double?, weight: (Double) -> Double
    ) {
        let stride = Int((support * 2).rounded(.up)) + 2
        var starts = [Int](repeating: 0, count: samples.count)
        var counts = [Int](repeating: 0, count: samples.count)
        var weights = [Int32](repeating: 0, count: samples.count * stride)
        for (i, sample) in samples.enumerated() {
            // Pixel centres line up: output sample i covers source [i, i + 1) · scale.
            let centre = (Double(sample) + 0.5) * scale
            var low = max(0, Int((centre - support).rounded(.down)))
            let high = max(low + 1, min(source, Int((centre + support).rounded(.up))))
            var raw = (low..<high).map {
                FilterTaps.weigh($0, source: source, lastShare: lastShare, centre: centre, by: weight)
            }
            var total = raw.reduce(0, +)
            if total == 0 {
                // Only at a far edge of a tiny source: the nearest sample alone.
                raw = raw.indices.map { $0 == min(raw.count - 1, max(0, Int(centre) - low)) ? 1 : 0 }
                total = 1
            }
            // Each weight is the step between rounded running sums: they sum to exactly one.
            var fixed = [Int32]()
            fixed.reserveCapacity(raw.count)
            var running = 0.0
            var previous: Int32 = 0
            for w in raw {
                running += w / total * Double(Self.one)
                let rounded = Int32(running.rounded())
                fixed.append(rounded - previous)
                previous = rounded
            }
            while fixed.count > 1, fixed.first == 0 { fixed.removeFirst(); low += 1 }
            while fixed.count > 1, fixed.last == 0 { fixed.removeLast() }
            starts[i] = low
            counts[i] = fixed.count
            for (k, w) in fixed.enumerated() { weights[i * stride + k] = w }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.stride = stride
    }
}
