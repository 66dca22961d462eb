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

/// The row accessors the parts share: sources are only read, and each part writes only its
/// own output rows.
private struct RowAccess: @unchecked Sendable {
    let sourceRow: (Int) -> UnsafeRawPointer
    let outputRow: (Int) -> UnsafeMutableRawPointer
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
        let parts = width * height >= twoThreadPixels && height >= 2 ? 2 : 1
        guard parts > 1 else {
            run(rows: 0..<height, sourceRow: sourceRow, outputRow: outputRow, fourthChannel: fourthChannel)
            return
        }
        withoutActuallyEscaping(sourceRow) { sourceRow in
            withoutActuallyEscaping(outputRow) { outputRow in
                let access = RowAccess(sourceRow: sourceRow, outputRow: outputRow)
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    run(
                        rows: height * part / parts..<height * (part + 1) / parts, sourceRow: access.sourceRow,
                        outputRow: access.outputRow, fourthChannel: fourthChannel)
                }
            }
        }
    }
}
