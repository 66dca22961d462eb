internal import CWebP

/// Every frame of an animated WebP, composited on the canvas by libwebp's
/// `WebPAnimDecoder` (blending and disposal are its business), one at a time: only one
/// canvas is alive however many frames there are.
public final class WebPAnimationReader {
    /// The decoder reads the file in place for its whole life, so it gets a copy that
    /// lives exactly as long.
    private let data: UnsafeMutableRawBufferPointer
    private let decoder: OpaquePointer
    public let width: Int
    public let height: Int
    public let frameCount: Int
    /// The container's loop count: 0 forever, n plays.
    public let loopCount: Int
    /// The `ICCP` payload when the file has one (not applied here).
    public let iccProfile: [UInt8]?
    /// Whether the file declares alpha (`VP8X`'s flag), which its frames then carry.
    public let hasAlpha: Bool
    private var elapsedMilliseconds = 0

    public init(_ bytes: [UInt8]) throws(WebPError) {
        guard !bytes.isEmpty else { throw .corrupt }
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { data.copyMemory(from: $0) }
        var webpData = WebPData(bytes: data.baseAddress!.assumingMemoryBound(to: UInt8.self), size: data.count)
        // Whole up to the RIFF size, as a still decode demands.
        var state = WEBP_DEMUX_PARSING_HEADER
        guard let demuxer = WebPDemuxPartial(&webpData, &state) else {
            data.deallocate()
            throw .corrupt
        }
        defer { WebPDemuxDelete(demuxer) }
        guard state == WEBP_DEMUX_DONE else {
            data.deallocate()
            throw .incomplete
        }
        iccProfile = WebPDecoder.chunk("ICCP", in: demuxer)
        hasAlpha = WebPDemuxGetI(demuxer, WEBP_FF_FORMAT_FLAGS) & UInt32(ALPHA_FLAG.rawValue) != 0
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else {
            data.deallocate()
            throw .versionMismatch
        }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        guard let decoder = WebPAnimDecoderNew(&webpData, &options) else {
            data.deallocate()
            throw .corrupt
        }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0, info.canvas_width > 0, info.canvas_height > 0 else {
            WebPAnimDecoderDelete(decoder)
            data.deallocate()
            throw .corrupt
        }
        self.data = data
        self.decoder = decoder
        (width, height) = (Int(info.canvas_width), Int(info.canvas_height))
        frameCount = Int(info.frame_count)
        loopCount = Int(info.loop_count)
    }

    deinit {
        WebPAnimDecoderDelete(decoder)
        data.deallocate()
    }

    /// The next frame's canvas (straight R,G,B,A rows) and how long it shows; nil after
    /// the last. A frame whose bitstream does not decode throws.
    public func nextFrame() throws(WebPError) -> (rgba: [UInt8], durationMilliseconds: Int)? {
        guard WebPAnimDecoderHasMoreFrames(decoder) != 0 else { return nil }
        var canvas: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &canvas, &timestamp) != 0, let canvas else { throw .corrupt }
        // The decoder reports when each frame ends.
        let duration = max(0, Int(timestamp) - elapsedMilliseconds)
        elapsedMilliseconds = Int(timestamp)
        return (Array(UnsafeBufferPointer(start: canvas, count: width * height * 4)), duration)
    }
}
