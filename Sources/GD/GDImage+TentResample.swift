internal import CGD

extension GDImage {
    /// Separable tent (triangle) resampling of an opaque image, whose support widens with
    /// the reduction as an area filter's must. `gdImageScale` does the same work in doubles
    /// through a generic contribution table (8.7 ms for 1068×712 → 800×533 here, most of a
    /// thumbnail's scaling cost); this does it in 14-bit fixed point on all four bytes of a
    /// pixel at once. Only for images without transparency, where averaging unpremultiplied
    /// colours is exact; images with alpha keep libgd's path.
    consuming func tentResampled(width: Int, height: Int) throws(GDError) -> GDImage {
        let rows = cgd_rows(raw)!
        let scaled = Self.tentResample(sourceWidth: self.width, sourceHeight: self.height, width: width, height: height) {
            UnsafeRawPointer(rows[$0]!).assumingMemoryBound(to: UInt32.self)
        }
        return try Self.owningOpaque(scaled)
    }

    /// Resamples packed B,G,R,X rows (TurboJPEG's output) straight to the target size,
    /// without first building a full-size libgd image of them: the JPEG thumbnail path
    /// decodes at 1/4 and goes directly to the output size.
    public static func tentResampled(
        bgrx pixels: [UInt8], width sourceWidth: Int, height sourceHeight: Int, stride: Int, toWidth width: Int,
        toHeight height: Int
    ) throws(GDError) -> GDImage {
        guard sourceWidth > 0, sourceHeight > 0, width > 0, height > 0, stride >= sourceWidth * 4,
            pixels.count >= stride * (sourceHeight - 1) + sourceWidth * 4
        else { throw .allocationFailed }
        let scaled = pixels.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!
            return tentResample(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height) {
                (base + $0 * stride).assumingMemoryBound(to: UInt32.self)
            }
        }
        return try owningOpaque(scaled)
    }

    private static func owningOpaque(_ raw: gdImagePtr?) throws(GDError) -> GDImage {
        guard let raw else { throw .allocationFailed }
        gdImageSaveAlpha(raw, 1)
        gdImageAlphaBlending(raw, 0)
        return GDImage(owning: raw, knownOpaque: true)
    }

    /// The two passes; nil only when libgd cannot allocate the result.
    private static func tentResample(
        sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, row: (Int) -> UnsafePointer<UInt32>
    ) -> gdImagePtr? {
        let horizontal = TentKernel(source: sourceWidth, target: width)
        let vertical = TentKernel(source: sourceHeight, target: height)
        // Horizontal pass into a packed intermediate (source height × target width).
        var middle = [UInt32](repeating: 0, count: sourceHeight * width)
        horizontal.withTables { starts, counts, weights, stride in
            middle.withUnsafeMutableBufferPointer { out in
                for y in 0..<sourceHeight {
                    let row = row(y)
                    let target = out.baseAddress! + y * width
                    for x in 0..<width {
                        var sum = SIMD4<Int32>(repeating: 1 << 13)
                        let source = row + starts[x]
                        let taps = weights.baseAddress! + x * stride
                        for k in 0..<counts[x] { sum &+= Self.channels(source[k]) &* taps[k] }
                        target[x] = Self.pack(sum)
                    }
                }
            }
        }
        guard let scaled = gdImageCreateTrueColor(Int32(width), Int32(height)) else { return nil }
        let outRows = cgd_rows(scaled)!
        vertical.withTables { starts, counts, weights, stride in
            middle.withUnsafeBufferPointer { source in
                // Each output pixel sums its taps in registers: no accumulator row to re-read.
                var tapRows = [UnsafePointer<UInt32>](repeating: source.baseAddress!, count: stride)
                tapRows.withUnsafeMutableBufferPointer { tapRows in
                    for y in 0..<height {
                        let count = counts[y]
                        let taps = weights.baseAddress! + y * stride
                        for k in 0..<count { tapRows[k] = source.baseAddress! + (starts[y] + k) * width }
                        let target = UnsafeMutableRawPointer(outRows[y]!).assumingMemoryBound(to: UInt32.self)
                        for x in 0..<width {
                            var sum = SIMD4<Int32>(repeating: 1 << 13)
                            for k in 0..<count { sum &+= Self.channels(tapRows[k][x]) &* taps[k] }
                            target[x] = Self.pack(sum)
                        }
                    }
                }
            }
        }
        return scaled
    }

    /// The four bytes of a packed pixel (B, G, R, A in memory order) as lanes.
    @inline(__always)
    private static func channels(_ pixel: UInt32) -> SIMD4<Int32> {
        SIMD4<Int32>(truncatingIfNeeded: unsafeBitCast(pixel, to: SIMD4<UInt8>.self))
    }

    /// Back from 14-bit fixed point, clamped to a byte per lane. The tent path only sees
    /// opaque images, so the alpha byte is written as libgd's opaque 0 whatever came in
    /// (TurboJPEG fills its X byte with 0xFF, which libgd would read as transparent).
    @inline(__always)
    private static func pack(_ sum: SIMD4<Int32>) -> UInt32 {
        let lanes = (sum &>> 14).clamped(lowerBound: .zero, upperBound: SIMD4(repeating: 255))
        return unsafeBitCast(SIMD4<UInt8>(truncatingIfNeeded: lanes), to: UInt32.self) & 0x00FF_FFFF
    }
}

/// Per-output-pixel taps of a tent filter mapping `source` samples onto `target`: weights
/// in 14-bit fixed point summing exactly to 1 << 14.
struct TentKernel {
    let starts: [Int]
    let counts: [Int]
    let weights: [Int32]
    let stride: Int

    init(source: Int, target: Int) {
        let scale = Double(source) / Double(target)
        let support = max(1, scale)
        stride = Int((support * 2).rounded(.up)) + 2
        var starts = [Int](repeating: 0, count: target)
        var counts = [Int](repeating: 0, count: target)
        var weights = [Int32](repeating: 0, count: target * stride)
        for i in 0..<target {
            let center = (Double(i) + 0.5) * scale
            let low = max(0, Int((center - support).rounded(.down)))
            let high = min(source, Int((center + support).rounded(.up)))
            var raw: [Double] = []
            for j in low..<high { raw.append(max(0, 1 - abs(Double(j) + 0.5 - center) / support)) }
            let total = raw.reduce(0, +)
            var fixed = raw.map { Int32(($0 / total * 16384).rounded()) }
            // Put the rounding error on the largest tap, so the weights sum to exactly 1.
            if let largest = fixed.indices.max(by: { fixed[$0] < fixed[$1] }) {
                fixed[largest] += 16384 - fixed.reduce(0, +)
            }
            starts[i] = low
            counts[i] = fixed.count
            for (k, w) in fixed.enumerated() { weights[i * stride + k] = w }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    /// The tables without bounds checks, for the inner loops.
    func withTables<T>(
        _ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int32>, Int) -> T
    ) -> T {
        starts.withUnsafeBufferPointer { s in
            counts.withUnsafeBufferPointer { c in weights.withUnsafeBufferPointer { w in body(s, c, w, stride) } }
        }
    }
}
