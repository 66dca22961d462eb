import GD

/// Two separable filter passes (a resampling's or a blur's) over 8-bit straight R,G,B,A rows,
/// in premultiplied floats: colours weighted by their opacity, so an invisible pixel's colour
/// does not bleed into its neighbours, and every alpha level and every colour of a faint
/// pixel kept. libgd's path, for images with transparency, had 7-bit alpha (a 256-level
/// ramp reduced 2× came back with 128 levels) and premultiplied in 8 bits (a pixel of alpha
/// 10 kept ~10 levels of each colour).
///
/// Horizontal pass first, on source rows, into a ring as tall as the vertical taps; then
/// each output row: as `GDImage.resampled`, whose taps (`SignedFilterTaps`) these are; in
/// strips of columns when the ring would not stay in cache (`stripWidth`).
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

    /// Writes premultiplied source row y, columns `columns` only, from the target's start
    /// (`premultiplied`).
    typealias SourceRow = (_ y: Int, _ columns: Range<Int>, UnsafeMutablePointer<SIMD4<Float>>) -> Void
    /// Takes output row y's pixels in `columns`, premultiplied (`straightened` makes bytes of
    /// them).
    typealias OutputRow = (_ y: Int, _ columns: Range<Int>, UnsafePointer<SIMD4<Float>>) -> Void

    /// Every output row; a large output as two bands on two threads, each with its own
    /// ring. Both closures may be called from either thread.
    func run(sourceRow: SourceRow, outputRow: OutputRow) {
        inRowHalves(width: width, height: height) { rows in run(rows: rows, sourceRow: sourceRow, outputRow: outputRow) }
    }

    /// How many output columns a pass makes at a time: all of them while the ring of
    /// filtered rows stays within ~512 KB, else strips whose ring does, so that the vertical
    /// taps read it from cache. A blur of σ 20 keeps 121 rows: 12 MP translucent, whole rows
    /// read an 8 MB ring per output row, and the blur took 3.1 s where libgd's took 2.1.
    static func stripWidth(ringRows: Int, width: Int) -> Int {
        let fitting = (1 << 19) / (ringRows * MemoryLayout<SIMD4<Float>>.stride)
        return fitting >= width ? width : max(32, fitting)
    }

    private func run(rows: Range<Int>, sourceRow: SourceRow, outputRow: OutputRow) {
        guard !rows.isEmpty else { return }
        let ringRows = vertical.counts.max() ?? 1
        let stripWidth = Self.stripWidth(ringRows: ringRows, width: width)
        let ring = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: ringRows * stripWidth)
        let source = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: sourceWidth)
        let output = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: stripWidth)
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
                        for stripStart in stride(from: 0, to: width, by: stripWidth) {
                            let columns = stripStart..<min(width, stripStart + stripWidth)
                            // Not the first column's start: trimming zero weights can start a tap
                            // after its neighbour's (Catmull-Rom centred on a pixel: 33, 32, 32, 34).
                            let sourceColumns = columns.map { hStarts[$0] }.min()!..<columns.map { hStarts[$0] + hCounts[$0] }.max()!
                            for slot in ringHolds.indices { ringHolds[slot] = -1 }
                            for y in rows {
                                let first = vertical.starts[y], taps = vertical.counts[y]
                                for sourceY in first..<(first + taps) where ringHolds[sourceY % ringRows] != sourceY {
                                    ringHolds[sourceY % ringRows] = sourceY
                                    sourceRow(sourceY, sourceColumns, source)
                                    let slot = ring + (sourceY % ringRows) * stripWidth
                                    for x in columns {
                                        slot[x &- stripStart] = Self.filtered(
                                            source + (hStarts[x] &- sourceColumns.lowerBound),
                                            by: hWeights.baseAddress! + x &* horizontal.stride, count: hCounts[x])
                                    }
                                }
                                Self.filterVertically(
                                    ring: ring, slotOf: { (first &+ $0) % ringRows }, slotLength: stripWidth,
                                    weights: vWeights.baseAddress! + y &* vertical.stride, count: taps, columns: columns.count,
                                    into: output)
                                outputRow(y, columns, output)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One horizontal output pixel: `count` pixels by their weights, two running sums so
    /// that each add need not wait for the one before (a blur's 121 taps: 4 → ~2 cycles a tap).
    @inline(__always)
    private static func filtered(
        _ window: UnsafePointer<SIMD4<Float>>, by weights: UnsafePointer<Float>, count: Int
    ) -> SIMD4<Float> {
        var (even, odd) = (SIMD4<Float>.zero, SIMD4<Float>.zero)
        var k = 0
        while k &+ 1 < count {
            even += window[k] * weights[k]
            odd += window[k &+ 1] * weights[k &+ 1]
            k &+= 2
        }
        if k < count { even += window[k] * weights[k] }
        return even + odd
    }

    /// One output row's columns: the ring's rows `slotOf(0..<count)` by their weights, two
    /// rows a pass over the output.
    @inline(__always)
    private static func filterVertically(
        ring: UnsafeMutablePointer<SIMD4<Float>>, slotOf: (Int) -> Int, slotLength: Int, weights: UnsafePointer<Float>,
        count: Int, columns: Int, into output: UnsafeMutablePointer<SIMD4<Float>>
    ) {
        let first = ring + slotOf(0) &* slotLength, firstWeight = weights[0]
        for x in 0..<columns { output[x] = first[x] * firstWeight }
        var k = 1
        while k &+ 1 < count {
            let (a, b) = (ring + slotOf(k) &* slotLength, ring + slotOf(k &+ 1) &* slotLength)
            let (wa, wb) = (weights[k], weights[k &+ 1])
            for x in 0..<columns { output[x] += a[x] * wa + b[x] * wb }
            k &+= 2
        }
        if k < count {
            let a = ring + slotOf(k) &* slotLength, wa = weights[k]
            for x in 0..<columns { output[x] += a[x] * wa }
        }
    }

    /// `count` straight R,G,B,A pixels as (R·α, G·α, B·α, A), α = A / 255.
    static func premultiplied(_ bytes: UnsafePointer<UInt8>, count: Int, into target: UnsafeMutablePointer<SIMD4<Float>>) {
        for x in 0..<count { target[x] = premultiplied(bytes + 4 * x) }
    }

    /// The straight R,G,B,A pixel at `pixel` as (R·α, G·α, B·α, A), α = A / 255.
    @inline(__always)
    static func premultiplied(_ pixel: UnsafePointer<UInt8>) -> SIMD4<Float> {
        let a = Float(pixel[3])
        let opacity = a * (1 / 255)
        return SIMD4(Float(pixel[0]) * opacity, Float(pixel[1]) * opacity, Float(pixel[2]) * opacity, a)
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
