internal import CWebP

/// An animated WebP, assembled frame by frame with libwebp's muxer.
///
/// Not `WebPAnimEncoder`: it drops a frame identical to the one before and lengthens that
/// one instead, so an animation came out with fewer frames than it went in with. Here
/// every frame is kept with its own duration. Each is lossy-coded (alpha losslessly,
/// libwebp's default) as the rectangle that changed since the frame before, placed without
/// blending over a canvas that is never disposed: the same pixels as whole frames, a
/// fraction of the bytes when little moves.
public final class WebPAnimationWriter {
    private let mux: OpaquePointer
    private let width: Int
    private let height: Int
    private let quality: Int
    private var previous: [UInt8]?

    /// `loopCount` 0 plays forever; `quality` is libwebp's 0–100.
    public init(width: Int, height: Int, loopCount: Int, quality: Int) throws(WebPError) {
        guard let mux = WebPMuxNew() else { throw .versionMismatch }
        self.mux = mux
        (self.width, self.height, self.quality) = (width, height, quality)
        var parameters = WebPMuxAnimParams(bgcolor: 0, loop_count: Int32(max(0, min(65535, loopCount))))
        guard WebPMuxSetAnimationParams(mux, &parameters) == WEBP_MUX_OK,
            WebPMuxSetCanvasSize(mux, Int32(width), Int32(height)) == WEBP_MUX_OK
        else { throw .encodeFailed(Int(WEBP_MUX_INVALID_ARGUMENT.rawValue)) }
    }

    deinit { WebPMuxDelete(mux) }

    /// Adds a canvas-sized frame of straight R,G,B,A rows shown for `durationMilliseconds`.
    public func add(rgba: [UInt8], durationMilliseconds: Int) throws(WebPError) {
        precondition(rgba.count == width * height * 4, "a frame is the canvas's size")
        var rect = previous.map { Self.changedRectangle(from: $0, to: rgba, width: width, height: height) }
            ?? (x: 0, y: 0, width: width, height: height)
        // WebP places frames at even offsets.
        if rect.x % 2 == 1 { (rect.x, rect.width) = (rect.x - 1, rect.width + 1) }
        if rect.y % 2 == 1 { (rect.y, rect.height) = (rect.y - 1, rect.height + 1) }
        let bitstream = try encode(rgba, rect: rect)
        try bitstream.withUnsafeBufferPointer { buffer throws(WebPError) in
            var frame = WebPMuxFrameInfo()
            frame.bitstream = WebPData(bytes: buffer.baseAddress, size: buffer.count)
            frame.x_offset = Int32(rect.x)
            frame.y_offset = Int32(rect.y)
            frame.duration = Int32(max(0, min(0xFF_FFFF, durationMilliseconds)))
            frame.id = WEBP_CHUNK_ANMF
            frame.dispose_method = WEBP_MUX_DISPOSE_NONE
            frame.blend_method = WEBP_MUX_NO_BLEND
            let status = WebPMuxPushFrame(mux, &frame, 1)
            guard status == WEBP_MUX_OK else { throw .encodeFailed(Int(status.rawValue)) }
        }
        previous = rgba
    }

    /// The whole file.
    public func finished() throws(WebPError) -> [UInt8] {
        var assembled = WebPData()
        let status = WebPMuxAssemble(mux, &assembled)
        guard status == WEBP_MUX_OK, let bytes = assembled.bytes else { throw .encodeFailed(Int(status.rawValue)) }
        defer { WebPDataClear(&assembled) }
        return Array(UnsafeBufferPointer(start: bytes, count: assembled.size))
    }

    /// One still WebP bitstream of `rect` of the frame.
    private func encode(_ rgba: [UInt8], rect: (x: Int, y: Int, width: Int, height: Int)) throws(WebPError) -> [UInt8] {
        var config = WebPConfig()
        guard WebPConfigInit(&config) != 0 else { throw .versionMismatch }
        config.quality = Float(max(0, min(100, quality)))
        config.thread_level = 1
        var picture = WebPPicture()
        guard WebPPictureInit(&picture) != 0 else { throw .versionMismatch }
        defer { WebPPictureFree(&picture) }
        picture.use_argb = 1
        picture.width = Int32(rect.width)
        picture.height = Int32(rect.height)
        let imported = rgba.withUnsafeBufferPointer { buffer in
            WebPPictureImportRGBA(&picture, buffer.baseAddress! + (rect.y * width + rect.x) * 4, Int32(width * 4))
        }
        guard imported != 0 else { throw .encodeFailed(Int(picture.error_code.rawValue)) }
        var writer = WebPMemoryWriter()
        WebPMemoryWriterInit(&writer)
        defer { WebPMemoryWriterClear(&writer) }
        let encoded = withUnsafeMutablePointer(to: &writer) { pointer in
            picture.writer = WebPMemoryWrite
            picture.custom_ptr = UnsafeMutableRawPointer(pointer)
            return WebPEncode(&config, &picture)
        }
        guard encoded != 0, let mem = writer.mem else { throw .encodeFailed(Int(picture.error_code.rawValue)) }
        return Array(UnsafeBufferPointer(start: mem, count: writer.size))
    }

    /// The smallest rectangle holding every pixel that differs; a 1×1 one at the origin
    /// when none does (a frame cannot be empty).
    static func changedRectangle(
        from old: [UInt8], to new: [UInt8], width: Int, height: Int
    ) -> (x: Int, y: Int, width: Int, height: Int) {
        var (left, top, right, bottom) = (width, height, -1, -1)
        old.withUnsafeBytes { oldBytes in
            new.withUnsafeBytes { newBytes in
                let a = oldBytes.assumingMemoryBound(to: UInt32.self), b = newBytes.assumingMemoryBound(to: UInt32.self)
                for y in 0..<height {
                    let row = y * width
                    var first = -1, last = -1
                    for x in 0..<width where a[row + x] != b[row + x] {
                        if first < 0 { first = x }
                        last = x
                    }
                    guard first >= 0 else { continue }
                    (left, right) = (min(left, first), max(right, last))
                    if top == height { top = y }
                    bottom = y
                }
            }
        }
        guard right >= 0 else { return (0, 0, 1, 1) }
        return (left, top, right - left + 1, bottom - top + 1)
    }
}
