internal import CGD

/// An animated GIF, written frame by frame through libgd's `gdImageGifAnim*Ptr`.
///
/// Frames arrive whole (the canvas as it should show) and are written as the rectangle
/// that changed since the frame before, its unchanged pixels transparent so that the
/// frame before shows through them and LZW codes them as runs: a 300-frame 320×200 GIF
/// where a ball moves came out 11.6 MB written whole, 0.4 MB this way. Each written
/// rectangle has its own palette (256 colours, quantized as a still GIF is, exact when it
/// has no more).
///
/// GIF cannot make a shown pixel transparent again except by clearing: when the next frame
/// turns an opaque pixel transparent, the current one is written whole and disposed "to
/// background" (with a transparent index, which readers such as Pillow clear to), and
/// the next is written whole over the cleared canvas. That needs one frame of lookahead:
/// a frame is written when the next arrives, or at `finished()`.
public final class GIFAnimationWriter {
    private var output: [UInt8] = []
    /// `nil`: play once (no loop extension); 0: forever; n: the NETSCAPE2.0 count.
    private let loopCount: Int?
    /// The frame waiting for its successor, its pixels already as GIF shows them (opaque,
    /// or fully transparent when more than half so).
    private var pending: GDImage?
    private var pendingDelay = 0
    /// What the canvas shows before `pending` is drawn: the frame written last, when it
    /// stays; nil at the start and after a frame disposed to background (a clear canvas).
    private var shown: GDImage?
    private var begun = false

    public init(loopCount: Int?) {
        self.loopCount = loopCount
    }

    /// Adds a frame shown for `delayCentiseconds` (GIF's unit). Every frame has the
    /// canvas's size.
    public func add(_ frame: consuming GDImage, delayCentiseconds: Int) throws(GDError) {
        let next = try Self.asGIFShowsIt(frame)
        if let previous = pending.take() {
            let clears = Self.turnsTransparent(from: previous, to: next)
            try write(previous, delay: pendingDelay, disposedToBackground: clears)
        }
        pending = consume next
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
        // Whole when it must clear the canvas after itself, or when nothing shows under it.
        let whole = disposedToBackground || shown == nil
        let rect = whole
            ? (x: 0, y: 0, width: frame.width, height: frame.height) : Self.changedRectangle(from: shown!, to: frame)
        let part = whole ? try frame.copy() : try Self.changes(of: frame, over: shown!, in: rect)
        guard let palette = GIFPalette.quantized(part.raw, reservingTransparentIndex: disposedToBackground) else {
            throw .allocationFailed
        }
        defer { gdImageDestroy(palette) }
        var size: Int32 = 0
        if !begun {
            // The logical screen is the canvas; no global colour table: every frame brings its own.
            guard let canvas = gdImageCreate(Int32(frame.width), Int32(frame.height)) else { throw .allocationFailed }
            defer { gdImageDestroy(canvas) }
            guard let header = gdImageGifAnimBeginPtr(canvas, &size, 0, Int32(loopCount ?? -1)), size > 0 else {
                throw .encodeFailed("gif")
            }
            append(header, size)
            begun = true
        }
        let disposal = disposedToBackground ? gdDisposalRestoreBackground : gdDisposalNone
        guard
            let block = gdImageGifAnimAddPtr(
                palette, &size, 1, Int32(rect.x), Int32(rect.y), Int32(delay), Int32(disposal), nil),
            size > 0
        else { throw .encodeFailed("gif") }
        append(block, size)
        shown = disposedToBackground ? nil : consume frame
    }

    private func append(_ buffer: UnsafeMutableRawPointer, _ size: Int32) {
        output.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: Int(size)))
        gdFree(buffer)
    }

    /// A copy with GIF's one bit of alpha: more than half transparent becomes fully
    /// transparent (as `GIFPalette` decides), everything else opaque.
    private static func asGIFShowsIt(_ frame: consuming GDImage) throws(GDError) -> GDImage {
        let rows = cgd_rows(frame.raw)!
        for y in 0..<frame.height {
            let row = rows[y]!
            for x in 0..<frame.width {
                let pixel = UInt32(bitPattern: row[x])
                row[x] = Int32(bitPattern: (pixel >> 24) & 0x7F >= 64 ? 0x7F00_0000 : pixel & 0x00FF_FFFF)
            }
        }
        return frame
    }

    /// Whether some pixel opaque in `old` is transparent in `new`.
    private static func turnsTransparent(from old: borrowing GDImage, to new: borrowing GDImage) -> Bool {
        let before = cgd_rows(old.raw)!, after = cgd_rows(new.raw)!
        for y in 0..<new.height {
            let a = before[y]!, b = after[y]!
            for x in 0..<new.width where b[x] == 0x7F00_0000 && a[x] != 0x7F00_0000 { return true }
        }
        return false
    }

    /// The smallest rectangle holding every pixel that differs; 1×1 at the origin when
    /// none does (a frame cannot be empty).
    private static func changedRectangle(
        from old: borrowing GDImage, to new: borrowing GDImage
    ) -> (x: Int, y: Int, width: Int, height: Int) {
        let before = cgd_rows(old.raw)!, after = cgd_rows(new.raw)!
        var (left, top, right, bottom) = (new.width, new.height, -1, -1)
        for y in 0..<new.height {
            let a = before[y]!, b = after[y]!
            var first = -1, last = -1
            for x in 0..<new.width where a[x] != b[x] {
                if first < 0 { first = x }
                last = x
            }
            guard first >= 0 else { continue }
            (left, right) = (min(left, first), max(right, last))
            if top == new.height { top = y }
            bottom = y
        }
        guard right >= 0 else { return (0, 0, 1, 1) }
        return (left, top, right - left + 1, bottom - top + 1)
    }

    /// `rect` of `frame`, with the pixels `shown` already has there made transparent: the
    /// frame before shows through them.
    private static func changes(
        of frame: borrowing GDImage, over shown: borrowing GDImage, in rect: (x: Int, y: Int, width: Int, height: Int)
    ) throws(GDError) -> GDImage {
        let part = try GDImage(width: rect.width, height: rect.height, transparent: true)
        let source = cgd_rows(frame.raw)!, under = cgd_rows(shown.raw)!, target = cgd_rows(part.raw)!
        for y in 0..<rect.height {
            let from = source[rect.y + y]!, below = under[rect.y + y]!, to = target[y]!
            for x in 0..<rect.width where from[rect.x + x] != below[rect.x + x] { to[x] = from[rect.x + x] }
        }
        return part
    }
}
