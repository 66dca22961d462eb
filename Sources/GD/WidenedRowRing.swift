/// The source rows a separable convolution's vertical pass is reading, widened to 16-bit
/// lanes once each and kept in a ring: a row serves every output row whose window covers
/// it, and the windows only move down, so a row is widened again only when bands come out
/// of order. Both convolutions keep one per thread.
struct WidenedRowRing: ~Copyable {
    private let storage: UnsafeMutableBufferPointer<UInt16>
    private var held: [Int]
    let lanes: Int

    /// `rows` at least as many as one output row's window; `lanes` each (zero-filled, so
    /// lanes past what `widen` writes read as 0).
    init(rows: Int, lanes: Int) {
        storage = .allocate(capacity: rows * lanes)
        storage.initialize(repeating: 0)
        held = [Int](repeating: -1, count: rows)
        self.lanes = lanes
    }

    deinit { storage.deallocate() }

    /// Source row `y`'s slot, filled by `widen` unless it already holds that row.
    @inline(__always)
    mutating func row(_ y: Int, widen: (UnsafeMutablePointer<UInt16>) -> Void) -> UnsafePointer<UInt16> {
        let index = y % held.count
        let slot = storage.baseAddress! + index * lanes
        if held[index] != y {
            widen(slot)
            held[index] = y
        }
        return UnsafePointer(slot)
    }
}

/// The high 16 bits of each lane's 32-bit product. Written lane by lane because that is the
/// shape LLVM turns into one `pmulhuw` (eight lanes per SSE2 instruction on baseline
/// x86-64, where 32-bit lane multiplies are emulated); SIMD8's own conversions are generic
/// calls it does not see through.
@inline(__always)
func multiplyHigh(_ a: SIMD8<UInt16>, _ b: SIMD8<UInt16>) -> SIMD8<UInt16> {
    var product = SIMD8<UInt16>()
    for lane in 0..<8 { product[lane] = UInt16(truncatingIfNeeded: (UInt32(a[lane]) &* UInt32(b[lane])) &>> 16) }
    return product
}
