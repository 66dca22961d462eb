import Dispatch

/// A filter whose output rows each depend only on source rows: the separable convolutions.
/// It makes whatever bands of output rows it is handed, so a large image is made in parts
/// on several threads, or band by band as its source rows arrive.
protocol RowFilter: Sendable {
    var width: Int { get }
    var height: Int { get }

    /// Writes the output rows of each band `nextBand` hands out until it answers nil,
    /// reading source rows through `sourceRow`. Bands come in any order, though rows are
    /// widened once only while they move down. `fourthChannel` keeps the filtered fourth
    /// byte of each pixel (premultiplied opacity), otherwise it is written as 0, libgd's
    /// opaque.
    func run(
        bands nextBand: () -> Range<Int>?, sourceRow: (Int) -> UnsafeRawPointer,
        outputRow: (Int) -> UnsafeMutableRawPointer, fourthChannel: Bool)

    /// The source rows output rows `rows` (not empty) read.
    func sourceRows(for rows: Range<Int>) -> Range<Int>
}

/// From how many output pixels a step is split over two threads: below it, handing work
/// to a second thread costs more than it saves.
let twoThreadPixels = 1 << 18

/// Rows 0..<`height` of a `width`-wide output handed to `body` whole, or as two halves on
/// two threads from `twoThreadPixels` up. `body` runs on both at once: it may only read
/// what the halves share and write its own rows.
package func inRowHalves(width: Int, height: Int, _ body: (Range<Int>) -> Void) {
    let parts = width * height >= twoThreadPixels && height >= 2 ? 2 : 1
    guard parts > 1 else { return body(0..<height) }
    withoutActuallyEscaping(body) { body in
        let shared = SharedRowWork(body: body)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            shared.body(height * part / parts..<height * (part + 1) / parts)
        }
    }
}

/// What the halves of `inRowHalves` share: the caller's promise that they touch only
/// their own rows.
private struct SharedRowWork: @unchecked Sendable {
    let body: (Range<Int>) -> Void
}

extension RowFilter {
    /// Output rows `rows` only.
    func run(
        rows: Range<Int>, sourceRow: (Int) -> UnsafeRawPointer, outputRow: (Int) -> UnsafeMutableRawPointer,
        fourthChannel: Bool
    ) {
        var band: Range<Int>? = rows
        run(bands: { band.take() }, sourceRow: sourceRow, outputRow: outputRow, fourthChannel: fourthChannel)
    }

    /// Every output row; a large output as two halves on two threads, each with its own
    /// ring of widened rows (a 12 MP blur: ~110 → ~60 ms).
    func run(
        sourceRow: (Int) -> UnsafeRawPointer, outputRow: (Int) -> UnsafeMutableRawPointer, fourthChannel: Bool = false
    ) {
        inRowHalves(width: width, height: height) { rows in
            run(rows: rows, sourceRow: sourceRow, outputRow: outputRow, fourthChannel: fourthChannel)
        }
    }
}
