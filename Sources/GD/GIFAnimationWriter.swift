internal import CGD

/// An animated GIF, written frame by frame through libgd's `gdImageGifAnim*Ptr`.
///
/// Every frame is a whole canvas with its own palette (256 colours each, quantized as a
/// still GIF is). A frame is disposed "to background" when the next one has transparent
/// pixels, so they show transparent rather than the frame before; otherwise it stays
/// ("none"), which every reader shows the same way. That needs one frame of lookahead:
/// a frame is written when the next arrives, or at `finished()`.
public final class GIFAnimationWriter {
    private var output: [UInt8] = []
    /// `nil`: play once (no loop extension); 0: forever; n: the NETSCAPE2.0 count.
    private let loopCount: Int?
    private var pending: GDImage?
    private var pendingDelay = 0
    private var begun = false

    public init(loopCount: Int?) {
        self.loopCount = loopCount
    }

    /// Adds a frame shown for `delayCentiseconds` (GIF's unit). Every frame has the
    /// canvas's size.
    public func add(_ frame: consuming GDImage, delayCentiseconds: Int) throws(GDError) {
        let nextHasTransparency = GIFPalette.hasTransparentPixels(frame.raw)
        if let previous = pending.take() {
            try write(previous, delay: pendingDelay, disposedToBackground: nextHasTransparency)
        }
        pending = consume frame
        pendingDelay = max(0, min(65535, delayCentiseconds))
    }

    /// The whole file. The writer is spent afterwards.
    public func finished() throws(GDError) -> [UInt8] {
        guard let last = pending.take() else { throw .encodeFailed("gif animation without frames") }
        try write(last, delay: pendingDelay, disposedToBackground: false)
        var size: Int32 = 0
        guard let end = gdImageGifAnimEndPtr(&size), size > 0 else { throw .encodeFailed("gif") }
        append(end, size)
        return output
    }

    private func write(_ frame: consuming GDImage, delay: Int, disposedToBackground: Bool) throws(GDError) {
        guard let palette = GIFPalette.quantized(frame.raw, reservingTransparentIndex: disposedToBackground) else {
            throw .allocationFailed
        }
        defer { gdImageDestroy(palette) }
        _ = consume frame
        var size: Int32 = 0
        if !begun {
            // No global colour table: every frame brings its own.
            guard let header = gdImageGifAnimBeginPtr(palette, &size, 0, Int32(loopCount ?? -1)), size > 0 else {
                throw .encodeFailed("gif")
            }
            append(header, size)
            begun = true
        }
        let disposal = disposedToBackground ? gdDisposalRestoreBackground : gdDisposalNone
        guard let block = gdImageGifAnimAddPtr(palette, &size, 1, 0, 0, Int32(delay), Int32(disposal), nil),
            size > 0
        else { throw .encodeFailed("gif") }
        append(block, size)
    }

    private func append(_ buffer: UnsafeMutableRawPointer, _ size: Int32) {
        output.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: Int(size)))
        gdFree(buffer)
    }
}
