internal import CGD
import Dispatch

extension GDImage {
    /// Unsharp mask of an opaque image in place, `out = in + amount·(in − blur(in))`
    /// against a σ=1 Gaussian, without a blurred copy of the image: each band of rows is
    /// blurred into a small buffer and the mask applied to the band's rows at once. In place
    /// is safe for a filter going down: an output row is made only after every source row
    /// its window reaches is widened into the filter's ring, which keeps them as long as a
    /// later row's window reaches them, so a row the mask has rewritten is never read
    /// again. Large images go down in two halves on two threads; the rows either half reads
    /// from the other are copied first.
    ///
    /// The pixels of `opaqueGaussianBlurred(sigma: 1)` then `unsharpMask(against:amount:)`
    /// (`UnsharpMaskTests`). 12 MP `sharpen:10.jpg`, `progimage-bench --chain`: the blurred
    /// copy gone (peak 95 → 52 MB over the source), and the mask, a scalar loop on one
    /// thread that was 28% of the CPU, now sixteen bytes a step on both: wall 114 → 80 ms.
    /// false (nothing done) when the symmetric kernel does not fit the image.
    func unsharpMaskedInPlace(amount: Double) -> Bool {
        guard let filter = GaussianConvolution(width: width, height: height, sigma: 1) else { return false }
        let gain = Int32((amount * 256).rounded())
        let rows = cgd_rows(raw)!
        let (width, height) = (self.width, self.height)
        let parts = width * height >= twoThreadPixels ? 2 : 1
        let middle = height / 2
        // The rows each half reads from the other: `radius` either side of the middle.
        let shared = parts == 2 ? max(0, middle - filter.radius)..<min(height, middle + filter.radius) : 0..<0
        let copy = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, shared.count * width))
        defer { copy.deallocate() }
        for y in shared {
            UnsafeMutableRawPointer(copy.baseAddress! + (y - shared.lowerBound) * width)
                .copyMemory(from: rows[y]!, byteCount: width * 4)
        }
        let access = SharedRows(rows: rows, copy: copy.baseAddress!, shared: shared, width: width)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let half = height * part / parts..<height * (part + 1) / parts
            let blurred = UnsafeMutablePointer<UInt32>.allocate(capacity: Self.maskBandRows * width)
            defer { blurred.deallocate() }
            var band: Range<Int>?
            filter.run(
                bands: {
                    if let band { Self.applyMask(rows: band, of: access.rows, blurred: blurred, width: width, gain: gain) }
                    let start = band?.upperBound ?? half.lowerBound
                    band = start < half.upperBound ? start..<min(half.upperBound, start + Self.maskBandRows) : nil
                    return band
                },
                sourceRow: { access.sourceRow($0) },
                outputRow: { UnsafeMutableRawPointer(blurred + ($0 - band!.lowerBound) * width) }, fourthChannel: false)
        }
        return true
    }

    /// Rows a band: the blurred buffer stays in the core's cache (32 rows of 4272 pixels
    /// are 547 KB, within this machine's L2).
    private static let maskBandRows = 32

    /// `row = row + gain·(row − blurred) / 256`, rounded, clamped, per colour byte; the
    /// fourth byte (libgd's alpha) kept. Sixteen bytes a step, in 32-bit lanes: the product
    /// reaches 25600 × 255.
    private static func applyMask(
        rows: Range<Int>, of image: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, blurred: UnsafePointer<UInt32>,
        width: Int, gain: Int32
    ) {
        let keepFourth = SIMD16<Int32>(0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1) .== 1
        let gains = SIMD16<Int32>(repeating: gain)
        for y in rows {
            let row = UnsafeMutableRawPointer(image[y]!).assumingMemoryBound(to: UInt8.self)
            let soft = UnsafeRawPointer(blurred + (y - rows.lowerBound) * width).assumingMemoryBound(to: UInt8.self)
            var x = 0
            while x + 4 <= width {
                let original = SIMD16<Int32>(truncatingIfNeeded: UnsafeRawPointer(row + 4 * x).loadUnaligned(as: SIMD16<UInt8>.self))
                let smooth = SIMD16<Int32>(truncatingIfNeeded: UnsafeRawPointer(soft + 4 * x).loadUnaligned(as: SIMD16<UInt8>.self))
                var value = original &+ ((gains &* (original &- smooth) &+ 128) &>> 8)
                value = value.clamped(lowerBound: .zero, upperBound: SIMD16(repeating: 255))
                value.replace(with: original, where: keepFourth)
                UnsafeMutableRawPointer(row + 4 * x).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: value), as: SIMD16<UInt8>.self)
                x += 4
            }
            for i in 4 * x..<4 * width where i % 4 != 3 {
                let original = Int32(row[i])
                row[i] = UInt8(min(255, max(0, original + ((gain * (original - Int32(soft[i])) + 128) >> 8))))
            }
        }
    }
}

/// The image's rows for both halves, the ones either half reads from the other taken from
/// the copy made before they start.
private struct SharedRows: @unchecked Sendable {
    let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let copy: UnsafePointer<UInt32>
    let shared: Range<Int>
    let width: Int

    func sourceRow(_ y: Int) -> UnsafeRawPointer {
        shared.contains(y) ? UnsafeRawPointer(copy + (y - shared.lowerBound) * width) : UnsafeRawPointer(rows[y]!)
    }
}
