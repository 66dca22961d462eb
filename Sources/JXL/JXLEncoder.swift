internal import CJXL
#if canImport(Glibc)
import Glibc
#endif

/// Encodes 8-bit sRGB pixels as a JPEG XL codestream with libjxl (lossy, VarDCT).
///
/// In two steps, as `HEIFEncoder`: `Frame` hands the pixels to libjxl, which converts them
/// into float planes of its own, and frees the caller's copy; `encoded()` then encodes. In
/// between the caller can hand its freed memory back (`ImageEncoder`): a 12 MP photo's
/// encode peaks ~460 MB above it, and the rows and libgd's image it had freed (84 MB) lay in
/// the heap as holes libjxl's large planes do not fit.
public enum JXLEncoder {
    /// The frame in libjxl's hands, ready to encode.
    public final class Frame {
        private let encoder: OpaquePointer
        private let sizeHint: Int

        /// `quality` 1–100 maps to a Butteraugli distance as libjxl's later
        /// `JxlEncoderDistanceFromQuality` does (90 → 1.0, visually lossless); `effort` 4 is
        /// imgproxy's default (libjxl's 7 took several times longer for a few % in size).
        /// `pixels` are width × height × 3 (× 4 with `hasAlpha`) bytes, freed before this
        /// returns.
        public init(
            rgb pixels: consuming [UInt8], width: Int, height: Int, hasAlpha: Bool, quality: Int, effort: Int = 4
        ) throws(JXLError) {
            let channels = hasAlpha ? 4 : 3
            guard width > 0, height > 0, pixels.count == width * height * channels else { throw .encodeFailed }
            guard let encoder = JxlEncoderCreate(nil) else { throw .encodeFailed }
            self.encoder = encoder
            sizeHint = max(4096, width * height / 4)

            var info = JxlBasicInfo()
            JxlEncoderInitBasicInfo(&info)
            info.xsize = UInt32(width)
            info.ysize = UInt32(height)
            info.bits_per_sample = 8
            info.exponent_bits_per_sample = 0
            info.num_color_channels = 3
            info.alpha_bits = hasAlpha ? 8 : 0
            info.num_extra_channels = hasAlpha ? 1 : 0
            info.uses_original_profile = 0
            guard JxlEncoderSetBasicInfo(encoder, &info) == JXL_ENC_SUCCESS else { throw .encodeFailed }
            var colour = JxlColorEncoding()
            JxlColorEncodingSetToSRGB(&colour, 0)
            guard JxlEncoderSetColorEncoding(encoder, &colour) == JXL_ENC_SUCCESS else { throw .encodeFailed }

            guard let settings = JxlEncoderFrameSettingsCreate(encoder, nil),
                JxlEncoderSetFrameDistance(settings, JXLEncoder.distance(quality: quality)) == JXL_ENC_SUCCESS,
                JxlEncoderFrameSettingsSetOption(settings, JXL_ENC_FRAME_SETTING_EFFORT, Int64(effort)) == JXL_ENC_SUCCESS
            else { throw .encodeFailed }
            var format = JxlPixelFormat(
                num_channels: UInt32(channels), data_type: JXL_TYPE_UINT8, endianness: JXL_NATIVE_ENDIAN, align: 0)
            let added = pixels.withUnsafeBytes { JxlEncoderAddImageFrame(settings, &format, $0.baseAddress, $0.count) }
            guard added == JXL_ENC_SUCCESS else { throw .encodeFailed }
            _ = consume pixels
            JxlEncoderCloseInput(encoder)
        }

        deinit { JxlEncoderDestroy(encoder) }

        public func encoded() throws(JXLError) -> [UInt8] {
            var output = [UInt8](repeating: 0, count: sizeHint)
            var written = 0
            while true {
                var status = JXL_ENC_ERROR
                output.withUnsafeMutableBufferPointer { buffer in
                    var next: UnsafeMutablePointer<UInt8>? = buffer.baseAddress! + written
                    var available = buffer.count - written
                    status = JxlEncoderProcessOutput(encoder, &next, &available)
                    written = buffer.count - available
                }
                switch status {
                case JXL_ENC_SUCCESS:
                    output.removeSubrange(written...)
                    return output
                case JXL_ENC_NEED_MORE_OUTPUT:
                    output += [UInt8](repeating: 0, count: output.count)
                default:
                    throw .encodeFailed
                }
            }
        }
    }

    /// libjxl 0.7 refuses a distance over 25 (`JxlEncoderSetFrameDistance`), which the
    /// curve passes below quality 5 (quality 4 is 25.2, 1 is 38.9): those qualities all get
    /// 25, the coarsest it encodes, and every quality from 5 up keeps its distance.
    static let maximumDistance: Float = 25

    static func distance(quality: Int) -> Float {
        let q = Float(max(1, min(100, quality)))
        if q >= 30 { return max(0.1 + (100 - q) * 0.09, 0.1) }
        return min(6.4 + powf(2.5, (30 - q) / 5) / 6.25, maximumDistance)
    }
}
