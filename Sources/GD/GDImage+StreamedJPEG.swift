internal import CGD
internal import CJPEG
import Dispatch
import Synchronization

extension GDImage {
    /// A JPEG decoded and Gaussian-blurred in one go, for a chain that starts with a blur:
    /// a helper thread decodes into a new image's rows while this thread blurs the bands
    /// whose rows have arrived, and once the decode is done both blur what is left. nil
    /// when the file needs a colour conversion, as for `decodedJPEG(_:scaleDenominator:)`;
    /// as strict as it.
    public static func decodedJPEG(_ bytes: [UInt8], blurredBy sigma: Double) throws(JPEGDecodeFailure) -> GDImage? {
        try decodedJPEG(bytes, scaleDenominator: 1) { decoder in
            gaussian(width: Int(decoder.width), height: Int(decoder.height), sigma: sigma)
        }
    }

    /// The thumbnail path, streamed: a JPEG decoded at 1/`scaleDenominator` by a helper
    /// thread while this one resamples (tent) the bands of the output whose source rows
    /// have arrived, and both finish what is left. The pixels of a decode into a buffer
    /// then `tentResampled(bgrx:…)`; no buffer, no waiting for the last row before the
    /// first output row. nil when it does not apply: a file that needs a colour
    /// conversion, or a reduction past `SeparableConvolution.exactReduction`.
    public static func decodedJPEG(
        _ bytes: [UInt8], scaleDenominator: Int, resizedTo width: Int, _ height: Int
    ) throws(JPEGDecodeFailure) -> GDImage? {
        try decodedJPEG(bytes, scaleDenominator: scaleDenominator) { decoder in
            tent(from: decoder, to: width, height)
        }
    }

    /// The thumbnail path to its end: `decodedJPEG(_:scaleDenominator:resizedTo:_:)` with
    /// the output JPEG-encoded at `quality` by a third thread, each band as soon as it and
    /// the bands above it are resampled, so that the encode overlaps the decode instead of
    /// following it. The bytes of that image then `jpegEncoded(quality:grey:)`, one grey
    /// component when every pixel is grey, as `ImageEncoder` writes it. nil where the
    /// streamed thumbnail does not apply, or for an output `pg_jpeg_encode` would write in
    /// two halves (`pg_jpeg_splits`: over a megapixel, no thumbnail).
    public static func thumbnailJPEG(
        _ bytes: [UInt8], scaleDenominator: Int, resizedTo width: Int, _ height: Int, quality: Int
    ) throws(JPEGPipelineFailure) -> [UInt8]? {
        guard pg_jpeg_splits(Int32(width), Int32(height), 0, Int32(quality)) == 0,
            pg_jpeg_splits(Int32(width), Int32(height), 1, Int32(quality)) == 0
        else { return nil }
        let message = JPEGMessageBuffer()
        return try bytes.withUnsafeBufferPointer { (source) throws(JPEGPipelineFailure) -> [UInt8]? in
            guard
                let decoder = try JPEGRowSource.forPipeline(
                    source, scaleDenominator: scaleDenominator, message: message, inParts: true),
                let filter = tent(from: decoder, to: width, height)
            else { return nil }
            guard let decoded = ScratchRows(width: Int(decoder.width), height: Int(decoder.height)),
                let output = gdImageCreateTrueColor(Int32(width), Int32(height))
            else { throw .decode(.outOfMemory) }
            defer { gdImageDestroy(output) }
            let outputRows = cgd_rows(output)!
            let bands = BandCompletion(height: height, width: width, rows: outputRows)
            let job = SharedBandsJob(decoder: decoder, rows: decoded.rows, outputRows: outputRows, filter: filter, bands: bands)
            let encoder = StreamedEncode(rows: outputRows, width: width, height: height, quality: quality, bands: bands)
            var read = PG_JPEG_OK
            withExtendedLifetime(decoded) {
                whileHelperRuns({ encoder.run() }) {
                    read = job.run()
                    bands.end()
                }
            }
            guard read == PG_JPEG_OK else { throw .decode(JPEGDecodeFailure(read, message: decoder.failureText)) }
            guard let encoded = encoder.output else { throw .encode(.encodeFailed("jpeg")) }
            return encoded
        }
    }

    /// The tent from a decode's rows to `width` × `height`, mapped by what they stand for
    /// (`JPEGRowSource.extent`); nil past what it reduces exactly
    /// (`SeparableConvolution.exactReduction`).
    private static func tent(from decoder: JPEGRowSource, to width: Int, _ height: Int) -> SeparableConvolution? {
        let (sourceWidth, sourceHeight) = (Int(decoder.width), Int(decoder.height))
        guard width > 0, height > 0, sourceWidth <= width * SeparableConvolution.exactReduction,
            sourceHeight <= height * SeparableConvolution.exactReduction
        else { return nil }
        return SeparableConvolution.tent(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height, extent: decoder.extent)
    }

    /// A JPEG decoded at 1/`scaleDenominator` into scratch rows and filtered into a new
    /// image of the filter's size at once (`SharedBandsJob`). `filter` is given the opened
    /// decoder (its size and extent); nil from it, or a file that needs a colour conversion,
    /// answers nil.
    private static func decodedJPEG(
        _ bytes: [UInt8], scaleDenominator: Int, filter makeFilter: (JPEGRowSource) -> (any RowFilter)?
    ) throws(JPEGDecodeFailure) -> GDImage? {
        let message = JPEGMessageBuffer()
        let filtered = try bytes.withUnsafeBufferPointer { (source) throws(JPEGDecodeFailure) -> gdImagePtr? in
            guard
                let decoder = try JPEGRowSource(
                    source, scaleDenominator: scaleDenominator, message: message, inParts: true),
                let filter = makeFilter(decoder)
            else { return nil }
            guard let decoded = ScratchRows(width: Int(decoder.width), height: Int(decoder.height)) else {
                throw .outOfMemory
            }
            guard let output = gdImageCreateTrueColor(Int32(filter.width), Int32(filter.height)) else { throw .outOfMemory }
            let read = withExtendedLifetime(decoded) {
                SharedBandsJob(decoder: decoder, rows: decoded.rows, outputRows: cgd_rows(output)!, filter: filter).run()
            }
            guard read == PG_JPEG_OK else {
                gdImageDestroy(output)
                throw JPEGDecodeFailure(read, message: decoder.failureText)
            }
            return output
        }
        return filtered.map { GDImage(owning: $0, knownOpaque: true) }
    }

    /// Why a JPEG-to-JPEG pipeline stopped.
    public enum JPEGPipelineFailure: Error, Sendable {
        case decode(JPEGDecodeFailure)
        case encode(GDError)
    }

    /// Unmaps the scratch rows kept for the next decode-blur-encode pass (`ScratchRows`):
    /// for a worker gone quiet.
    public static func releaseScratchMemory() { ScratchRows.releaseKept() }

    /// `blur:σ` of a JPEG as a JPEG at `quality`, its three stages on two threads in one
    /// pass down the image: a helper thread decodes, this thread blurs each band once its
    /// rows have arrived, in place, and the helper, its decode done, encodes each blurred
    /// band as it comes. The bytes are those of decode, `blurred(sigma:)` and
    /// `jpegEncoded(quality:grey:)` in turn, at half the memory (one image, not two).
    /// nil when it does not apply: a file that needs a colour conversion, an image too
    /// small for a second thread or narrower than the kernel.
    public static func blurredJPEG(
        _ bytes: [UInt8], sigma: Double, quality: Int
    ) throws(JPEGPipelineFailure) -> [UInt8]? {
        let message = JPEGMessageBuffer()
        return try bytes.withUnsafeBufferPointer { (source) throws(JPEGPipelineFailure) -> [UInt8]? in
            guard let decoder = try JPEGRowSource.forPipeline(source, message: message),
                Int(decoder.width) * Int(decoder.height) >= twoThreadPixels,
                let filter = GaussianConvolution(width: Int(decoder.width), height: Int(decoder.height), sigma: sigma)
            else { return nil }
            guard let image = ScratchRows(width: Int(decoder.width), height: Int(decoder.height))
            else { throw .decode(.outOfMemory) }
            let job = DecodeBlurEncodeJob(decoder: decoder, rows: image.rows, filter: filter, quality: quality)
            return try withExtendedLifetime(image) { () throws(GDImage.JPEGPipelineFailure) -> [UInt8] in try job.run() }
        }
    }
}

/// Runs `helper` on a thread of its own while `body` runs on this one; returns once both
/// are done. A queue of its own, as for an animation's frames: libdispatch then starts a
/// thread for it even when every core's thread is a caller waiting here.
func whileHelperRuns(_ helper: @escaping @Sendable () -> Void, _ body: () -> Void) {
    let finished = DispatchSemaphore(value: 0)
    DispatchQueue(label: "progimage.streamed-decode").async {
        helper()
        finished.signal()
    }
    body()
    finished.wait()
}

/// Rows a band: small enough that the filtering thread follows the decode closely and the
/// threads finish together, large enough that re-widening the rows two bands share is
/// noise.
private let bandRows = 32

/// One decode feeding one filter into a second image. The decoder writes only the source
/// rows and publishes them before the filter reads them; each band of output rows is
/// claimed by one thread only. 12 MP `blur:2/rotate:0.jpg`, `progimage-bench --chain`
/// wall: 72 ms when the decode, then the blur on two threads, took turns; 57–58 ms.
private final class SharedBandsJob: @unchecked Sendable {
    let decoder: JPEGRowSource
    let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let outputRows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let filter: any RowFilter
    /// Told of each band once written, for a consumer of the output rows while they come.
    let bands: BandCompletion?
    let nextBand = Atomic(0)
    let stopped = Atomic(false)
    /// The first failure of a part of the decode.
    private let status = Mutex(PG_JPEG_OK)

    init(
        decoder: JPEGRowSource, rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>,
        outputRows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, filter: any RowFilter,
        bands: BandCompletion? = nil
    ) {
        self.decoder = decoder
        self.rows = rows
        self.outputRows = outputRows
        self.filter = filter
        self.bands = bands
    }

    /// Decodes and filters; the decode's status. The output rows are complete only when it
    /// is `PG_JPEG_OK`. A file decoded in two parts (`JPEGRowSource.parts`) has one on each
    /// thread, and both threads filter once their part is done; otherwise the helper
    /// decodes while this thread filters what has arrived.
    func run() -> pg_jpeg_status {
        let parts = decoder.parts
        guard parts.count > 1 || filter.width * filter.height >= twoThreadPixels else {
            let read = decoder.decode(.whole, into: rows)
            if read == PG_JPEG_OK { filterBands() }
            return read
        }
        whileHelperRuns({ [self] in
            decode(parts.last!)
            filterBands()
        }) {
            if parts.count > 1 { decode(parts[0]) }
            filterBands()
        }
        return status.withLock { $0 }
    }

    /// A part of the decode; its failure kept and the filtering stopped.
    private func decode(_ part: JPEGRowSource.Part) {
        let read = decoder.decode(part, into: rows)
        guard read != PG_JPEG_OK else { return }
        status.withLock { if $0 == PG_JPEG_OK { $0 = read } }
        stopped.store(true, ordering: .releasing)
    }

    private func filterBands() {
        let height = filter.height
        var previous: Range<Int>?
        filter.run(
            bands: {
                // The filter asks for a band once it has written the one before.
                if let band = previous { bands?.finish(band) }
                previous = nil
                guard !stopped.load(ordering: .acquiring) else { return nil }
                let start = nextBand.wrappingAdd(1, ordering: .relaxed).oldValue * bandRows
                guard start < height else { return nil }
                let band = start..<min(height, start + bandRows)
                // Once for the band's every source row: a wait for each as it arrived woke
                // this thread per iMCU row, 5 ms of CPU in a 20 ms thumbnail.
                _ = decoder.arrival.wait(forRows: filter.sourceRows(for: band).upperBound)
                previous = band
                return band
            },
            sourceRow: { decoder.row($0, of: rows) },
            outputRow: { UnsafeMutableRawPointer(outputRows[$0]!) }, fourthChannel: false)
    }
}

/// Which bands of an output are written, whichever thread wrote them, published as the
/// rows from the top that are all written; and whether any written row has colour, for
/// an encoder that writes one grey component when none has, as `ImageEncoder` does.
private final class BandCompletion: @unchecked Sendable {
    let arrival = RowArrival()
    private let sawColour = Atomic(false)
    private let width: Int
    private let height: Int
    private let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    /// The bands written so far by their first row (bands are `bandRows` apart), and the
    /// rows from the top all written.
    private let written: Mutex<(starts: Set<Int>, top: Int)>

    init(height: Int, width: Int, rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>) {
        self.width = width
        self.height = height
        self.rows = rows
        written = Mutex(([], 0))
    }

    /// A band is written: checked for colour, then published with every band above it.
    func finish(_ band: Range<Int>) {
        if !sawColour.load(ordering: .relaxed),
            band.contains(where: {
                !GDImage.isGreyRow(UnsafeRawPointer(rows[$0]!).assumingMemoryBound(to: UInt32.self), width: width)
            })
        {
            sawColour.store(true, ordering: .relaxed)
        }
        let height = self.height
        let top = written.withLock { state -> Int? in
            state.starts.insert(band.lowerBound)
            let before = state.top
            while state.starts.contains(state.top) { state.top = min(height, state.top + bandRows) }
            return state.top > before ? state.top : nil
        }
        if let top { arrival.publish(rows: top) }
    }

    /// No more bands will come, whether or not they all did.
    func end() { arrival.end() }

    /// Whether the output is grey (one component): known at the first band with colour, or
    /// once every row is written; nil when the bands stopped coming first.
    func waitForGreyDecision() -> Bool? {
        var seen = 0
        while !sawColour.load(ordering: .relaxed), seen < height {
            seen = min(height, seen + bandRows)
            guard arrival.wait(forRows: seen) else { return nil }
        }
        return !sawColour.load(ordering: .relaxed)
    }

    /// What the bands written so far say, without waiting.
    var isGreySoFar: Bool { !sawColour.load(ordering: .relaxed) }
}

/// `pg_jpeg_encode_streamed` of an output whose bands `BandCompletion` reports as they
/// are written; grey (one component) once every row is known grey, colour from the first
/// band with colour on.
private final class StreamedEncode: @unchecked Sendable {
    let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let width: Int
    let height: Int
    let quality: Int
    let bands: BandCompletion
    /// The JPEG, once `run` succeeded.
    private(set) var output: [UInt8]?

    init(
        rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, width: Int, height: Int, quality: Int,
        bands: BandCompletion
    ) {
        self.rows = rows
        self.width = width
        self.height = height
        self.quality = quality
        self.bands = bands
    }

    func run() {
        guard let grey = bands.waitForGreyDecision() else { return }
        let message = JPEGMessageBuffer()
        var encoded: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let source = SegmentRows(arrival: bands.arrival, first: 0)
        let status = UnsafeRawPointer(rows).withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: height) {
            pg_jpeg_encode_streamed(
                $0, Int32(width), Int32(height), Int32(quality), grey ? 1 : 0,
                { context, wanted in
                    Unmanaged<SegmentRows>.fromOpaque(context!).takeUnretainedValue().wait(forRows: Int(wanted))
                }, Unmanaged.passUnretained(source).toOpaque(), &encoded, &size, message.pointer)
        }
        withExtendedLifetime(source) {}
        defer { free(encoded) }
        guard status == PG_JPEG_OK, let encoded, size > 0 else { return }
        output = Array(UnsafeBufferPointer(start: encoded, count: Int(size)))
    }
}

/// Decode, blur and encode down one image. The helper decodes into the rows, then encodes;
/// this thread blurs them in place, in order, one band at a time, then encodes too. In
/// place is safe for one thread going down: an output row is written only after every
/// source row its window reaches has been widened into the filter's ring, and rows above
/// it are read from the ring. Encoders read only rows the blur has published, which it no
/// longer touches.
///
/// A large image is encoded as segments of a few MCU rows, claimed in order by whichever
/// thread is free and spliced (`pg_jpeg_splice`): the helper starts on the top ones as
/// soon as its decode is done, and the blur's thread takes the rest once its blur is.
/// 12 MP σ 2 to JPEG, `progimage-bench --chain` wall: 72 ms the long way (decode, blur on
/// two threads, encode in two halves), 54–55 ms this way, about both cores' CPU time
/// halved: little waits any more.
private final class DecodeBlurEncodeJob: @unchecked Sendable {
    let decoder: JPEGRowSource
    let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let filter: GaussianConvolution
    let quality: Int
    /// The blurred rows, published band by band, and whether they are grey.
    let blurred: BandCompletion
    let nextSegment = Atomic(0)
    let segments: EncodedSegments

    /// MCU rows a segment: each costs a set of headers (~50 µs), and the last one claimed
    /// is what one thread may finish alone.
    static let segmentMCURows = 8

    init(
        decoder: JPEGRowSource, rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>, filter: GaussianConvolution,
        quality: Int
    ) {
        self.decoder = decoder
        self.rows = rows
        self.filter = filter
        self.quality = quality
        blurred = BandCompletion(height: filter.height, width: filter.width, rows: rows)
        // At most this many segments (grey and 4:4:4 ones have 8-row MCUs).
        segments = EncodedSegments(count: (filter.height + 8 * Self.segmentMCURows - 1) / (8 * Self.segmentMCURows))
    }

    func run() throws(GDImage.JPEGPipelineFailure) -> [UInt8] {
        let read = Mutex(PG_JPEG_OK)
        whileHelperRuns({ [self] in
            let status = decoder.decode(.whole, into: rows)
            read.withLock { $0 = status }
            if status == PG_JPEG_OK {
                encodeSegments(grey: blurred.waitForGreyDecision() ?? false)
            } else {
                segments.fail()
            }
        }) {
            blurBands()
            // After a failed decode the blurred rows are garbage: nothing to encode.
            if decoder.arrival.rowsReady == filter.height { encodeSegments(grey: blurred.isGreySoFar) }
        }
        let status = read.withLock { $0 }
        guard status == PG_JPEG_OK else {
            throw .decode(GDImage.JPEGDecodeFailure(status, message: decoder.failureText))
        }
        guard let output = segments.spliced(grey: blurred.isGreySoFar, quality: quality, message: decoder.message)
        else { throw .encode(.encodeFailed("jpeg")) }
        return output
    }

    /// This thread: every band in order, each published once written.
    private func blurBands() {
        let height = filter.height
        var previous: Range<Int>?
        filter.run(
            bands: {
                if let previous { blurred.finish(previous) }
                let start = previous?.upperBound ?? 0
                guard start < height else { return nil }
                let band = start..<min(height, start + bandRows)
                previous = band
                _ = decoder.arrival.wait(forRows: filter.sourceRows(for: band).upperBound)
                return band
            },
            sourceRow: { decoder.row($0, of: rows) },
            outputRow: { UnsafeMutableRawPointer(rows[$0]!) }, fourthChannel: false)
        blurred.end()
    }

    /// Either thread: segments in order until none is left. An image `pg_jpeg_encode`
    /// would not split is one segment, written without restart markers, as it writes it.
    private func encodeSegments(grey: Bool) {
        let (width, height) = (filter.width, filter.height)
        let splits = pg_jpeg_splits(Int32(width), Int32(height), grey ? 1 : 0, Int32(quality)) != 0
        let segmentRows = splits ? Int(pg_jpeg_mcu_rows(grey ? 1 : 0, Int32(quality))) * Self.segmentMCURows : height
        while true {
            let index = nextSegment.wrappingAdd(1, ordering: .relaxed).oldValue
            let first = index * segmentRows
            guard first < height else { return }
            let segmentHeight = min(segmentRows, height - first)
            let source = SegmentRows(arrival: blurred.arrival, first: first)
            let message = JPEGMessageBuffer()
            var output: UnsafeMutablePointer<UInt8>?
            var size: UInt = 0
            let status = UnsafeRawPointer(rows + first).withMemoryRebound(
                to: UnsafeMutablePointer<UInt8>?.self, capacity: segmentHeight
            ) { rows in
                let wait: pg_jpeg_rows_wait = { context, wanted in
                    Unmanaged<SegmentRows>.fromOpaque(context!).takeUnretainedValue().wait(forRows: Int(wanted))
                }
                let context = Unmanaged.passUnretained(source).toOpaque()
                return splits
                    ? pg_jpeg_encode_segment(
                        rows, Int32(width), Int32(segmentHeight), Int32(quality), grey ? 1 : 0, wait, context, &output, &size,
                        message.pointer)
                    : pg_jpeg_encode_streamed(
                        rows, Int32(width), Int32(segmentHeight), Int32(quality), grey ? 1 : 0, wait, context, &output,
                        &size, message.pointer)
            }
            withExtendedLifetime(source) {}
            segments.store(index, output: output, size: Int(size), height: segmentHeight, status: status)
        }
    }
}

/// A segment's rows as the encoder counts them, from its first row.
private final class SegmentRows: @unchecked Sendable {
    let arrival: RowArrival
    let first: Int

    init(arrival: RowArrival, first: Int) {
        self.arrival = arrival
        self.first = first
    }

    /// How many of the segment's rows are ready once `rows` are; fewer when they never
    /// will be.
    func wait(forRows rows: Int) -> Int32 {
        _ = arrival.wait(forRows: first + rows)
        return Int32(clamping: arrival.rowsReady - first)
    }
}

/// What each segment's encode wrote (malloc'd by libjpeg's memory destination), until
/// spliced.
private final class EncodedSegments: @unchecked Sendable {
    private struct Segment {
        var bytes: UnsafeMutablePointer<UInt8>?
        var size = 0
        var height = 0
    }

    private let state: Mutex<(segments: [Segment], failed: Bool)>

    init(count: Int) { state = Mutex(([Segment](repeating: Segment(), count: count), false)) }

    deinit {
        state.withLock { state in
            for segment in state.segments { free(segment.bytes) }
        }
    }

    func store(_ index: Int, output: UnsafeMutablePointer<UInt8>?, size: Int, height: Int, status: pg_jpeg_status) {
        state.withLock { state in
            state.segments[index] = Segment(bytes: output, size: size, height: height)
            if status != PG_JPEG_OK || output == nil { state.failed = true }
        }
    }

    func fail() { state.withLock { $0.failed = true } }

    /// The segments as one JPEG; nil when one failed.
    func spliced(grey: Bool, quality: Int, message: JPEGMessageBuffer) -> [UInt8]? {
        state.withLock { state -> [UInt8]? in
            let written = state.segments.prefix { $0.bytes != nil }
            guard !state.failed, !written.isEmpty else { return nil }
            if written.count == 1 { return Array(UnsafeBufferPointer(start: written[0].bytes, count: written[0].size)) }
            var pointers = written.map { $0.bytes }
            let sizes = written.map { UInt($0.size) }
            let heights = written.map { Int32($0.height) }
            var output: UnsafeMutablePointer<UInt8>?
            var size: UInt = 0
            let status = pg_jpeg_splice(
                &pointers, sizes, heights, Int32(written.count), grey ? 1 : 0, Int32(quality), &output, &size,
                message.pointer)
            defer { free(output) }
            guard status == PG_JPEG_OK, let output else { return nil }
            return Array(UnsafeBufferPointer(start: output, count: Int(size)))
        }
    }
}
