internal import CWebP

/// Decodes any WebP, still or animated, with libwebp's `WebPAnimDecoder`.
///
/// libgd 2.3.3 hands the file to `WebPDecode`, which knows no ANIM/ANMF chunks, so every
/// valid animated WebP was refused as corrupt. The animation decoder takes still files
/// too (as one frame) and composites the first frame on the canvas, transparent where it
/// does not reach, which is the service's rule for animations.
public enum WebPDecoder {
    /// The first frame on the full canvas, plus what the container says about the rest.
    public struct Pixels: Sendable {
        public let width: Int
        public let height: Int
        /// Interleaved R,G,B,A rows with straight (not premultiplied) alpha, no padding.
        public var rgba: [UInt8]
        public var stride: Int { width * 4 }
        /// The container's alpha flag (VP8X, or the VP8L/ALPH header of a simple file).
        public let hasAlpha: Bool
        public let frameCount: Int
        /// The payload of the `ICCP` chunk, when the file has one: the colour space the
        /// pixels are in. Not applied here. (libwebp's demuxer keeps the chunk only when
        /// the VP8X header's ICC flag is set.)
        public let iccProfile: [UInt8]?
    }

    public static func decode(_ bytes: [UInt8]) throws(WebPError) -> Pixels {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<Pixels, WebPError> in
            var data = WebPData(bytes: buffer.baseAddress, size: buffer.count)
            return Result { () throws(WebPError) -> Pixels in try decode(&data) }
        }
        return try result.get()
    }

    /// `data` borrows the caller's bytes; nothing libwebp returns outlives this call.
    private static func decode(_ data: inout WebPData) throws(WebPError) -> Pixels {
        // A first-frame decode never reads later frames, so completeness is the demuxer's
        // word: DONE once every chunk up to the RIFF size is whole. (WebPAnimDecoderNew
        // would refuse such a file too, but its NULL also means out of memory.) Chunk
        // walking only: a later frame whose bitstream is damaged inside a whole chunk is
        // not decoded, so not noticed, as with GIF.
        var state = WEBP_DEMUX_PARSING_HEADER
        guard let demuxer = WebPDemuxPartial(&data, &state) else { throw .corrupt }
        defer { WebPDemuxDelete(demuxer) }
        guard state == WEBP_DEMUX_DONE else { throw .incomplete }
        let flags = WebPDemuxGetI(demuxer, WEBP_FF_FORMAT_FLAGS)
        let frameCount = Int(WebPDemuxGetI(demuxer, WEBP_FF_FRAME_COUNT))
        let iccProfile = chunk("ICCP", in: demuxer)

        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw .versionMismatch }
        options.color_mode = MODE_RGBA
        // The service runs one request per worker thread already.
        options.use_threads = 0
        guard let decoder = WebPAnimDecoderNew(&data, &options) else { throw .corrupt }
        defer { WebPAnimDecoderDelete(decoder) }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0, info.canvas_width > 0, info.canvas_height > 0 else {
            throw .corrupt
        }
        var canvas: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &canvas, &timestamp) != 0, let canvas else { throw .corrupt }
        let (width, height) = (Int(info.canvas_width), Int(info.canvas_height))
        var rgba = Array(UnsafeBufferPointer(start: canvas, count: width * height * 4))
        let hasAlpha = flags & ALPHA_FLAG.rawValue != 0
        if !hasAlpha && frameCount <= 1 {
            // A still without alpha is opaque. libwebp 1.2.4 gives an out-of-range palette
            // index transparent black; later releases (and Pillow, libvips) opaque black.
            for i in stride(from: 3, to: rgba.count, by: 4) { rgba[i] = 255 }
        }
        return Pixels(
            width: width, height: height, rgba: rgba, hasAlpha: hasAlpha, frameCount: frameCount,
            iccProfile: iccProfile)
    }

    /// A still WebP decoded straight to `width`×`height` by libwebp's own rescaler (an
    /// area average when shrinking): the thumbnail path, which skips the full-size RGBA
    /// buffer and the canvas copy. nil for an animation (its frames need the canvas).
    /// Checked for completeness as `decode` is.
    public static func decodeStill(_ bytes: [UInt8], scaledTo width: Int, _ height: Int) throws(WebPError) -> Pixels? {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<Pixels?, WebPError> in
            var data = WebPData(bytes: buffer.baseAddress, size: buffer.count)
            return Result { () throws(WebPError) -> Pixels? in try decodeStill(&data, width: width, height: height) }
        }
        return try result.get()
    }

    private static func decodeStill(_ data: inout WebPData, width: Int, height: Int) throws(WebPError) -> Pixels? {
        var state = WEBP_DEMUX_PARSING_HEADER
        guard let demuxer = WebPDemuxPartial(&data, &state) else { throw .corrupt }
        defer { WebPDemuxDelete(demuxer) }
        guard state == WEBP_DEMUX_DONE else { throw .incomplete }
        let flags = WebPDemuxGetI(demuxer, WEBP_FF_FORMAT_FLAGS)
        guard flags & ANIMATION_FLAG.rawValue == 0, WebPDemuxGetI(demuxer, WEBP_FF_FRAME_COUNT) <= 1 else { return nil }
        let iccProfile = chunk("ICCP", in: demuxer)

        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfig(&config) != 0 else { throw .versionMismatch }
        guard WebPGetFeatures(data.bytes, data.size, &config.input) == VP8_STATUS_OK else { throw .corrupt }
        config.output.colorspace = MODE_RGBA
        config.options.use_threads = 0
        if width != Int(config.input.width) || height != Int(config.input.height) {
            config.options.use_scaling = 1
            config.options.scaled_width = Int32(width)
            config.options.scaled_height = Int32(height)
        }
        guard WebPDecode(data.bytes, data.size, &config) == VP8_STATUS_OK else { throw .corrupt }
        defer { WebPFreeDecBuffer(&config.output) }
        let buffer = config.output.u.RGBA
        guard let pixels = buffer.rgba, Int(config.output.width) == width, Int(config.output.height) == height else {
            throw .corrupt
        }
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        rgba.withUnsafeMutableBytes { target in
            for y in 0..<height {
                (target.baseAddress! + y * width * 4).copyMemory(from: pixels + y * Int(buffer.stride), byteCount: width * 4)
            }
        }
        let hasAlpha = flags & ALPHA_FLAG.rawValue != 0
        if !hasAlpha {
            // As `decode`: a still without alpha is opaque.
            for i in stride(from: 3, to: rgba.count, by: 4) { rgba[i] = 255 }
        }
        return Pixels(width: width, height: height, rgba: rgba, hasAlpha: hasAlpha, frameCount: 1, iccProfile: iccProfile)
    }

    /// The first chunk `fourcc`'s payload, copied out of the demuxer's view of the file.
    static func chunk(_ fourcc: String, in demuxer: OpaquePointer) -> [UInt8]? {
        var iterator = WebPChunkIterator()
        guard WebPDemuxGetChunk(demuxer, fourcc, 1, &iterator) != 0 else { return nil }
        defer { WebPDemuxReleaseChunkIterator(&iterator) }
        return Array(UnsafeBufferPointer(start: iterator.chunk.bytes, count: iterator.chunk.size))
    }
}
