internal import CJPEG
import Synchronization

/// A JPEG opened for a decode straight into rows that lie anywhere (libgd's, scratch),
/// reporting rows as they arrive, top to bottom. Their fourth byte is libjpeg's 0xFF, not
/// libgd's opaque 0, unless the decode is asked to clear it. Closed with its last
/// reference.
///
/// A file whose scan can be entered at a restart marker near its middle (its own, or
/// the restart-marked copy of it, `JPEGRestarts.restartMarkedCopy`) is decoded in two
/// parts at once, when the caller asks for them (`inParts`, then each of `parts` on a
/// thread of its own, `.whole` never): each part is an exact piece of the
/// whole decode, since a restart resets the only state one block row passes to the next
/// (DC prediction), and the lower part starts one MCU row early so that chroma
/// upsampling sees the row above, then drops it. 12 MP at 1/2 on two threads: 27 → 15 ms.
final class JPEGRowSource: @unchecked Sendable {
    let decoder: OpaquePointer
    let width: Int32
    let height: Int32
    /// What the rows stand for, in rows and columns: the stored size over the scale, since
    /// libjpeg rounds a scaled side up and the last row and column are partial blocks.
    let extent: (width: Double, height: Double)
    let message: JPEGMessageBuffer
    let arrival = RowArrival()
    /// The decode of the rows from `split` down, when the file has a restart there: its row
    /// 0 is the image's row `offset`, and its rows above `split` are only context.
    private let lower: (decoder: OpaquePointer, offset: Int, split: Int, message: JPEGMessageBuffer)?
    /// Rows each part has finished, and parts still decoding: the rows published are those
    /// complete from the top.
    private let progress: Mutex<(upper: Int, lower: Int, running: Int)>

    /// The parts a decode of this file runs as, each once, on threads of their own.
    enum Part {
        /// Every row (a file that is not split).
        case whole
        /// The rows above the split, and the rest.
        case upper, lower
    }

    /// At 1/`scaleDenominator` (1, 2, 4, 8) in the DCT domain; nil when the file needs a
    /// colour conversion (an ICC profile, CMYK). `inParts`: in two parts when the file
    /// allows it and the output is large enough (`pg_jpeg_open_lower_part`).
    init?(
        _ source: UnsafeBufferPointer<UInt8>, scaleDenominator: Int = 1, message: JPEGMessageBuffer, inParts: Bool = false
    ) throws(GDImage.JPEGDecodeFailure) {
        var info = pg_jpeg_info()
        var status = PG_JPEG_OK
        guard
            let decoder = pg_jpeg_open(
                source.baseAddress, source.count, Int32(scaleDenominator), &info, &status, message.pointer)
        else { throw GDImage.JPEGDecodeFailure(status, message: message.text) }
        var profile: UnsafePointer<UInt8>?
        guard info.cmyk == 0, pg_jpeg_icc_profile(decoder, &profile) == 0 else {
            pg_jpeg_close(decoder)
            return nil
        }
        self.decoder = decoder
        self.width = info.output_width
        self.height = info.output_height
        extent = GDImage.dctScaledExtent(width: Int(info.image_width), height: Int(info.image_height), scale: scaleDenominator)
        self.message = message
        var offset: Int32 = 0
        var split: Int32 = 0
        if inParts,
            let part = pg_jpeg_open_lower_part(
                source.baseAddress, source.count, Int32(scaleDenominator), decoder, &offset, &split)
        {
            lower = (part, Int(offset), Int(split), JPEGMessageBuffer())
        } else {
            lower = nil
        }
        progress = Mutex((0, 0, lower == nil ? 1 : 2))
    }

    deinit {
        pg_jpeg_close(decoder)
        if let lower { pg_jpeg_close(lower.decoder) }
    }

    /// `init`, for a path that also encodes: its failure is the pipeline's decode failure.
    static func forPipeline(
        _ source: UnsafeBufferPointer<UInt8>, scaleDenominator: Int = 1, message: JPEGMessageBuffer, inParts: Bool = false
    ) throws(GDImage.JPEGPipelineFailure) -> JPEGRowSource? {
        do throws(GDImage.JPEGDecodeFailure) {
            return try JPEGRowSource(source, scaleDenominator: scaleDenominator, message: message, inParts: inParts)
        } catch {
            throw .decode(error)
        }
    }

    /// The parts to run, one thread each.
    var parts: [Part] { lower == nil ? [.whole] : [.upper, .lower] }

    /// Decodes `part` into `rows` (every row of the image, `clearingFourth` as libgd's
    /// opaque rows have it), publishing rows to `arrival` as they come; ends `arrival` once
    /// every part has, whatever happened. Why a part failed: `failureText`.
    func decode(
        _ part: Part, into rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, clearingFourth: Bool = false
    ) -> pg_jpeg_status {
        // `.whole` of a source opened in two parts would wait forever for a lower part that
        // never runs; a part of a whole one has no split to stop at.
        precondition((part == .whole) == (lower == nil), "\(part) is not one of this source's parts \(parts)")
        defer {
            let last = progress.withLock { state in
                state.running -= 1
                return state.running == 0
            }
            if last { arrival.end() }
        }
        let clear: Int32 = clearingFourth ? 1 : 0
        return UnsafeRawPointer(rows).withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: Int(height)) {
            rows in
            let context = Unmanaged.passUnretained(self).toOpaque()
            switch part {
            case .whole, .upper:
                let end = part == .upper ? Int32(lower!.split) : -1
                return pg_jpeg_read_rows_between(
                    decoder, rows, 0, end, clear,
                    { context, rows in
                        Unmanaged<JPEGRowSource>.fromOpaque(context!).takeUnretainedValue().upperDone(Int(rows))
                    }, context, message.pointer)
            case .lower:
                let lower = lower!
                return pg_jpeg_read_rows_between(
                    lower.decoder, rows + lower.offset, Int32(lower.split - lower.offset), -1, clear,
                    { context, rows in
                        Unmanaged<JPEGRowSource>.fromOpaque(context!).takeUnretainedValue().lowerDone(Int(rows))
                    }, context, lower.message.pointer)
            }
        }
    }

    /// Every part, each on a thread of its own (this one and a helper, when there are
    /// two): the first failure's status.
    func decodeEveryPart(
        into rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, clearingFourth: Bool
    ) -> pg_jpeg_status {
        guard lower != nil else { return decode(.whole, into: rows, clearingFourth: clearingFourth) }
        nonisolated(unsafe) let rows = rows
        let lowerRead = Mutex(PG_JPEG_OK)
        var upperRead = PG_JPEG_OK
        whileHelperRuns({ [self] in
            let read = decode(.lower, into: rows, clearingFourth: clearingFourth)
            lowerRead.withLock { $0 = read }
        }) {
            upperRead = decode(.upper, into: rows, clearingFourth: clearingFourth)
        }
        return upperRead != PG_JPEG_OK ? upperRead : lowerRead.withLock { $0 }
    }

    /// libjpeg's words for the failure, once every part has returned: the upper part's
    /// (or the whole's), else the lower's.
    var failureText: String {
        let text = message.text
        return text.isEmpty ? lower?.message.text ?? "" : text
    }

    private func upperDone(_ rows: Int) {
        publish { $0.upper = rows }
    }

    /// `rows` of the lower part's own, the dropped context rows included.
    private func lowerDone(_ rows: Int) {
        guard let lower else { return }
        publish { $0.lower = max(0, lower.offset + rows - lower.split) }
    }

    private func publish(_ update: (inout (upper: Int, lower: Int, running: Int)) -> Void) {
        let split = lower?.split ?? Int(height)
        let ready = progress.withLock { state in
            update(&state)
            return state.upper < split ? state.upper : split + state.lower
        }
        arrival.publish(rows: ready)
    }

    /// A source row once it has arrived. On a failed decode the row is garbage, and so is
    /// what is made of it; the callers throw both away.
    func row(_ y: Int, of rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>) -> UnsafeRawPointer {
        _ = arrival.wait(forRows: y + 1)
        return UnsafeRawPointer(rows[y]!)
    }
}
