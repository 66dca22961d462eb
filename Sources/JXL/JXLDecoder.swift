internal import CJXL

/// Decodes JPEG XL with libjxl: the first frame, composited on the canvas (an animation's
/// first frame, as for GIF and WebP), turned upright as the codestream's orientation says,
/// as 8-bit straight RGBA, with the ICC profile of the pixels it hands back.
public enum JXLDecoder {
    public struct Pixels: Sendable {
        public let width: Int
        public let height: Int
        /// Interleaved R,G,B,A rows, straight alpha, no padding.
        public var rgba: [UInt8]
        public var stride: Int { width * 4 }
        public let hasAlpha: Bool
        /// The colour space of `rgba` (libjxl's `JXL_COLOR_PROFILE_TARGET_DATA`), to be
        /// converted to sRGB by the caller; nil when libjxl gives none, and when it made
        /// the pixels sRGB itself (an XYB image).
        public let iccProfile: [UInt8]?
    }

    /// The displayed size (after the codestream's orientation) and whether there is an
    /// alpha channel, from the header only: no pixel is decoded.
    public static func size(of bytes: [UInt8]) throws(JXLError) -> (width: Int, height: Int, hasAlpha: Bool, frames: Int?) {
        try run(bytes, events: JXL_DEC_BASIC_INFO.rawValue) { decoder, status throws(JXLError) -> (Int, Int, Bool, Int?)? in
            guard status == JXL_DEC_BASIC_INFO else { return nil }
            var info = JxlBasicInfo()
            guard JxlDecoderGetBasicInfo(decoder, &info) == JXL_DEC_SUCCESS else { throw .corrupt }
            let (width, height) = displayed(info)
            return (width, height, info.alpha_bits > 0, info.have_animation != 0 ? nil : 1)
        }
    }

    /// How many frames the file holds: one per frame header, read without decoding pixels
    /// (libjxl skips a frame's data when nobody asked for its image).
    public static func frameCount(of bytes: [UInt8]) throws(JXLError) -> Int {
        guard let decoder = JxlDecoderCreate(nil) else { throw .corrupt }
        defer { JxlDecoderDestroy(decoder) }
        guard JxlDecoderSubscribeEvents(decoder, Int32(bitPattern: JXL_DEC_FRAME.rawValue)) == JXL_DEC_SUCCESS else {
            throw .corrupt
        }
        return try bytes.withUnsafeBufferPointer { (input) throws(JXLError) -> Int in
            guard JxlDecoderSetInput(decoder, input.baseAddress, input.count) == JXL_DEC_SUCCESS else { throw .corrupt }
            JxlDecoderCloseInput(decoder)
            var frames = 0
            while true {
                switch JxlDecoderProcessInput(decoder) {
                case JXL_DEC_FRAME: frames += 1
                case JXL_DEC_SUCCESS: return frames
                case JXL_DEC_NEED_MORE_INPUT: throw .incomplete
                default: throw .corrupt
                }
            }
        }
    }

    /// Decodes every frame and keeps none: an upload's proof that an animation decodes
    /// completely, which its first frame alone does not give (a file cut after it, or
    /// damaged in a later frame, was accepted: a black-box tester). One frame's buffer,
    /// reused; the caller has bounded the frames and their size.
    public static func decodeEveryFrame(of bytes: [UInt8]) throws(JXLError) {
        guard let decoder = JxlDecoderCreate(nil) else { throw .corrupt }
        defer { JxlDecoderDestroy(decoder) }
        guard JxlDecoderSubscribeEvents(decoder, Int32(bitPattern: JXL_DEC_FULL_IMAGE.rawValue)) == JXL_DEC_SUCCESS else {
            throw .corrupt
        }
        var format = JxlPixelFormat(num_channels: 4, data_type: JXL_TYPE_UINT8, endianness: JXL_NATIVE_ENDIAN, align: 0)
        var buffer: UnsafeMutableRawPointer?
        var capacity = 0
        defer { buffer?.deallocate() }
        try bytes.withUnsafeBufferPointer { (input) throws(JXLError) in
            guard JxlDecoderSetInput(decoder, input.baseAddress, input.count) == JXL_DEC_SUCCESS else { throw .corrupt }
            JxlDecoderCloseInput(decoder)
            while true {
                switch JxlDecoderProcessInput(decoder) {
                case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
                    var size = 0
                    guard JxlDecoderImageOutBufferSize(decoder, &format, &size) == JXL_DEC_SUCCESS, size > 0 else { throw .corrupt }
                    if size > capacity {
                        buffer?.deallocate()
                        buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
                        capacity = size
                    }
                    guard JxlDecoderSetImageOutBuffer(decoder, &format, buffer, size) == JXL_DEC_SUCCESS else { throw .corrupt }
                case JXL_DEC_FULL_IMAGE: continue
                case JXL_DEC_SUCCESS: return
                case JXL_DEC_NEED_MORE_INPUT: throw .incomplete
                default: throw .corrupt
                }
            }
        }
    }

    /// Decodes the first frame; refuses more than `maxPixels` from the header.
    public static func decode(_ bytes: [UInt8], maxPixels: Int) throws(JXLError) -> Pixels {
        let frame = try firstFrame(bytes, maxPixels: maxPixels, as: UInt8.self) { _ in true }
        guard let frame else { throw .corrupt }  // never: every image is wanted
        return Pixels(width: frame.width, height: frame.height, rgba: frame.samples, hasAlpha: frame.hasAlpha, iccProfile: frame.icc)
    }

    /// A lossless (not XYB) image of more than 8 bits a sample, as 16-bit R,G,B,A in the
    /// machine's byte order, for a colour conversion made before the samples are cut to 8.
    public struct SixteenBitPixels: Sendable {
        public let width: Int
        public let height: Int
        public let hasAlpha: Bool
        public let samples: [UInt16]
        /// The colour space of `samples` (`JXL_COLOR_PROFILE_TARGET_DATA`).
        public let iccProfile: [UInt8]?
    }

    /// The first frame in 16 bits when the image is lossless, deeper than 8 bits, and
    /// `wanted` says yes to its ICC profile; nil, having decoded no pixel, otherwise.
    public static func decodeSixteenBit(
        _ bytes: [UInt8], maxPixels: Int, wanted: ([UInt8]?) -> Bool
    ) throws(JXLError) -> SixteenBitPixels? {
        let frame = try firstFrame(bytes, maxPixels: maxPixels, as: UInt16.self) { header in
            !header.xyb && header.bitsPerSample > 8 && wanted(header.icc)
        }
        return frame.map {
            SixteenBitPixels(width: $0.width, height: $0.height, hasAlpha: $0.hasAlpha, samples: $0.samples, iccProfile: $0.icc)
        }
    }

    /// What `firstFrame`'s caller decides on before any pixel is decoded.
    private struct FrameHeader {
        let xyb: Bool
        let bitsPerSample: Int
        let icc: [UInt8]?
    }

    /// The first frame as R,G,B,A samples of `Sample` (8 or 16 bits), composited, upright;
    /// nil when `proceed` declines after the colour encoding (nothing decoded). An 8-bit
    /// XYB image comes as sRGB (`preferSRGB`).
    private static func firstFrame<Sample: FixedWidthInteger & UnsignedInteger>(
        _ bytes: [UInt8], maxPixels: Int, as _: Sample.Type, proceed: (FrameHeader) -> Bool
    ) throws(JXLError) -> (width: Int, height: Int, hasAlpha: Bool, samples: [Sample], icc: [UInt8]?)? {
        var width = 0, height = 0, hasAlpha = false, xyb = false, grey = false, bits = 8
        var icc: [UInt8]?
        var samples: [Sample] = []
        var format = JxlPixelFormat(
            num_channels: 4, data_type: Sample.bitWidth == 8 ? JXL_TYPE_UINT8 : JXL_TYPE_UINT16, endianness: JXL_NATIVE_ENDIAN,
            align: 0)
        let events = JXL_DEC_BASIC_INFO.rawValue | JXL_DEC_COLOR_ENCODING.rawValue | JXL_DEC_FULL_IMAGE.rawValue
        typealias Frame = (width: Int, height: Int, hasAlpha: Bool, samples: [Sample], icc: [UInt8]?)
        // `run` ends at the first non-nil value: .some(nil) is "declined".
        let result = try run(bytes, events: events) { decoder, status throws(JXLError) -> Frame?? in
            switch status {
            case JXL_DEC_BASIC_INFO:
                var info = JxlBasicInfo()
                guard JxlDecoderGetBasicInfo(decoder, &info) == JXL_DEC_SUCCESS else { throw .corrupt }
                (width, height) = displayed(info)
                hasAlpha = info.alpha_bits > 0
                (xyb, grey, bits) = (info.uses_original_profile == 0, info.num_color_channels == 1, Int(info.bits_per_sample))
                let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
                guard !overflow, pixels <= maxPixels else { throw .tooLarge }
            case JXL_DEC_COLOR_ENCODING:
                if !(Sample.bitWidth == 8 && xyb && preferSRGB(decoder, grey: grey)) { icc = targetProfile(decoder) }
                if !proceed(FrameHeader(xyb: xyb, bitsPerSample: bits, icc: icc)) { return .some(nil) }
            case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
                var size = 0
                let expected = width * height * 4 * MemoryLayout<Sample>.size
                guard JxlDecoderImageOutBufferSize(decoder, &format, &size) == JXL_DEC_SUCCESS, size == expected
                else { throw .corrupt }
                // libjxl writes every byte of the frame before it reports FULL_IMAGE; the
                // zeros only make that independent of it.
                samples = [Sample](repeating: 0, count: width * height * 4)
                let set = samples.withUnsafeMutableBytes { JxlDecoderSetImageOutBuffer(decoder, &format, $0.baseAddress, size) }
                guard set == JXL_DEC_SUCCESS else { throw .corrupt }
            case JXL_DEC_FULL_IMAGE:
                return .some((width, height, hasAlpha, samples, icc))
            default:
                break
            }
            return nil
        }
        return result
    }

    /// The ICC profile of the pixels libjxl will hand over, when it gives one.
    private static func targetProfile(_ decoder: OpaquePointer) -> [UInt8]? {
        var size = 0
        guard JxlDecoderGetICCProfileSize(decoder, nil, JXL_COLOR_PROFILE_TARGET_DATA, &size) == JXL_DEC_SUCCESS, size > 0
        else { return nil }
        var profile = [UInt8](repeating: 0, count: size)
        guard JxlDecoderGetColorAsICCProfile(decoder, nil, JXL_COLOR_PROFILE_TARGET_DATA, &profile, size) == JXL_DEC_SUCCESS
        else { return nil }
        return profile
    }

    /// Asks libjxl for sRGB pixels, which it makes from an XYB (lossy) image's numbers in
    /// floating point. Left to itself, it hands such an image with an ICC profile it cannot
    /// name as *linear* sRGB, which in 8 bits kept 14 of a dark ramp's 48 levels (13 levels
    /// off against LittleCMS on the source); with a profile it can name, it hands the
    /// original space, for a conversion from 8-bit numbers. false for HDR (PQ, HLG: as
    /// elsewhere, left as they are) and where libjxl refuses.
    private static func preferSRGB(_ decoder: OpaquePointer, grey: Bool) -> Bool {
        var original = JxlColorEncoding()
        if JxlDecoderGetColorAsEncodedProfile(decoder, nil, JXL_COLOR_PROFILE_TARGET_ORIGINAL, &original) == JXL_DEC_SUCCESS,
            original.transfer_function == JXL_TRANSFER_FUNCTION_PQ || original.transfer_function == JXL_TRANSFER_FUNCTION_HLG
        {
            return false
        }
        var sRGB = JxlColorEncoding()
        JxlColorEncodingSetToSRGB(&sRGB, grey ? 1 : 0)
        return JxlDecoderSetPreferredColorProfile(decoder, &sRGB) == JXL_DEC_SUCCESS
    }

    /// Feeds the whole file and calls `step` for every event until it returns a value.
    /// The buffer set at NEED_IMAGE_OUT_BUFFER stays valid: `rgba` is not touched again
    /// until FULL_IMAGE.
    private static func run<T>(
        _ bytes: [UInt8], events: UInt32, step: (OpaquePointer, JxlDecoderStatus) throws(JXLError) -> T?
    ) throws(JXLError) -> T {
        guard let decoder = JxlDecoderCreate(nil) else { throw .corrupt }
        defer { JxlDecoderDestroy(decoder) }
        guard JxlDecoderSubscribeEvents(decoder, Int32(bitPattern: events)) == JXL_DEC_SUCCESS else { throw .corrupt }
        return try bytes.withUnsafeBufferPointer { (input) throws(JXLError) -> T in
            guard JxlDecoderSetInput(decoder, input.baseAddress, input.count) == JXL_DEC_SUCCESS else { throw .corrupt }
            JxlDecoderCloseInput(decoder)
            while true {
                let status = JxlDecoderProcessInput(decoder)
                switch status {
                case JXL_DEC_ERROR: throw .corrupt
                case JXL_DEC_NEED_MORE_INPUT: throw .incomplete
                case JXL_DEC_SUCCESS: throw .incomplete  // every event passed without the one asked for
                default:
                    if let value = try step(decoder, status) { return value }
                }
            }
        }
    }

    /// libjxl hands the frame upright: orientations 5–8 swap the sides.
    private static func displayed(_ info: JxlBasicInfo) -> (Int, Int) {
        let (width, height) = (Int(info.xsize), Int(info.ysize))
        return info.orientation.rawValue >= 5 ? (height, width) : (width, height)
    }
}
