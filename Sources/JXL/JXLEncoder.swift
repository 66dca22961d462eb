internal import CJXL
#if canImport(Glibc)
import Glibc
#endif

/// Encodes 8-bit sRGB pixels as a JPEG XL codestream with libjxl (lossy, VarDCT).
///
/// An image larger than a tile is encoded as tiles: frames of at most `tileSide` square,
/// each cropped to its place on the canvas and replacing what is under it, with no
/// duration, so that every decoder composites them into the one still image (the
/// codestream's layers; `JxlDecoder` coalesces them by default, and a decoder reports one
/// frame). libjxl 0.7 holds a whole frame in float planes and more (~37 bytes a pixel): a
/// 12 MP photo encoded as one frame peaked 459 MB above its pixels, as 1024-pixel tiles
/// 71 MB, and took 711 ms instead of 974 (effort 4, distance 1.9, C program on libjxl
/// 0.7); the file was 0.6% larger (0.08% at distance 1.0), its PSNR against the source
/// 0.005 dB lower overall and 0.26 dB lower in the 4 pixels along the seams.
/// 1024 is four of libjxl's 256-pixel groups, so no group is split but at the edges.
public enum JXLEncoder {
    /// The side of a tile; an image no larger is one frame, as before tiles.
    public static let tileSide = 1024

    /// Encodes `width` × `height` pixels that `row` hands over one row at a time, top to
    /// bottom, each `width` × 3 bytes (R, G, B), or × 4 with `hasAlpha`. `quality` 1–100
    /// maps to a Butteraugli distance as libjxl's later `JxlEncoderDistanceFromQuality`
    /// does (90 → 1.0, visually lossless); `effort` 4 is imgproxy's default (libjxl's 7
    /// took several times longer for a few % in size). Rows are read a band of tiles at a
    /// time: only one band and one tile are held beside libjxl's frame.
    public static func encode(
        width: Int, height: Int, hasAlpha: Bool, quality: Int, effort: Int = 4, row: (Int) -> [UInt8]
    ) throws(JXLError) -> [UInt8] {
        let channels = hasAlpha ? 4 : 3
        guard width > 0, height > 0 else { throw .encodeFailed }
        // Two threads for a large image, as the other encoders here: libjxl shares a frame's
        // groups between them, the same bytes (12 MP in 1024-pixel tiles, C program on libjxl
        // 0.7: 728–770 ms on one thread, 498–647 on two). Made first, so it outlives the encoder.
        let runner = width * height >= 1 << 20 ? JxlThreadParallelRunnerCreate(nil, 2) : nil
        defer { if let runner { JxlThreadParallelRunnerDestroy(runner) } }
        guard let encoder = JxlEncoderCreate(nil) else { throw .encodeFailed }
        defer { JxlEncoderDestroy(encoder) }
        if let runner, JxlEncoderSetParallelRunner(encoder, JxlThreadParallelRunner, runner) != JXL_ENC_SUCCESS {
            throw .encodeFailed
        }

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

        let tiled = width > tileSide || height > tileSide
        var output = Output(sizeHint: max(4096, width * height / 4))
        for bandTop in stride(from: 0, to: height, by: tileSide) {
            let bandHeight = min(tileSide, height - bandTop)
            var band = [UInt8]()
            band.reserveCapacity(width * bandHeight * channels)
            for y in bandTop..<bandTop + bandHeight {
                let pixels = row(y)
                guard pixels.count == width * channels else { throw .encodeFailed }
                band += pixels
            }
            for left in stride(from: 0, to: width, by: tileSide) {
                let tileWidth = min(tileSide, width - left)
                if tiled {
                    var header = JxlFrameHeader()
                    JxlEncoderInitFrameHeader(&header)
                    header.layer_info.have_crop = 1
                    header.layer_info.crop_x0 = Int32(left)
                    header.layer_info.crop_y0 = Int32(bandTop)
                    header.layer_info.xsize = UInt32(tileWidth)
                    header.layer_info.ysize = UInt32(bandHeight)
                    header.layer_info.blend_info.blendmode = JXL_BLEND_REPLACE
                    guard JxlEncoderSetFrameHeader(settings, &header) == JXL_ENC_SUCCESS else { throw .encodeFailed }
                    if hasAlpha {
                        var alphaBlend = JxlBlendInfo()
                        alphaBlend.blendmode = JXL_BLEND_REPLACE
                        guard JxlEncoderSetExtraChannelBlendInfo(settings, 0, &alphaBlend) == JXL_ENC_SUCCESS
                        else { throw .encodeFailed }
                    }
                }
                let tile: [UInt8]
                if tileWidth == width {
                    tile = band
                } else {
                    let rowBytes = tileWidth * channels
                    tile = [UInt8](unsafeUninitializedCapacity: rowBytes * bandHeight) { buffer, count in
                        band.withUnsafeBufferPointer { band in
                            for y in 0..<bandHeight {
                                (buffer.baseAddress! + y * rowBytes)
                                    .initialize(from: band.baseAddress! + (y * width + left) * channels, count: rowBytes)
                            }
                        }
                        count = rowBytes * bandHeight
                    }
                }
                let added = tile.withUnsafeBytes { JxlEncoderAddImageFrame(settings, &format, $0.baseAddress, $0.count) }
                guard added == JXL_ENC_SUCCESS else { throw .encodeFailed }
                if bandTop + bandHeight == height, left + tileWidth == width { JxlEncoderCloseInput(encoder) }
                // Each frame encoded as it comes, so that libjxl frees its planes before the next.
                try output.drain(encoder)
            }
        }
        return output.finished()
    }

    /// The codestream as libjxl writes it, grown as it asks.
    private struct Output {
        private var bytes: [UInt8]
        private var written = 0

        init(sizeHint: Int) { bytes = [UInt8](repeating: 0, count: sizeHint) }

        /// Everything libjxl has ready for the frames given so far.
        mutating func drain(_ encoder: OpaquePointer) throws(JXLError) {
            while true {
                var status = JXL_ENC_ERROR
                bytes.withUnsafeMutableBufferPointer { buffer in
                    var next: UnsafeMutablePointer<UInt8>? = buffer.baseAddress! + written
                    var available = buffer.count - written
                    status = JxlEncoderProcessOutput(encoder, &next, &available)
                    written = buffer.count - available
                }
                switch status {
                case JXL_ENC_SUCCESS: return
                case JXL_ENC_NEED_MORE_OUTPUT: bytes += [UInt8](repeating: 0, count: bytes.count)
                default: throw .encodeFailed
                }
            }
        }

        consuming func finished() -> [UInt8] {
            bytes.removeSubrange(written...)
            return bytes
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
