internal import CWebP

/// A still, lossy WebP built strip by strip: the bytes libgd's `gdImageWebpPtrEx` writes
/// (libwebp's `WebPEncodeRGBA`: its default preset at the quality, R,G,B,A converted to
/// 4:2:0 YUV), without the whole-image R,G,B,A copy libgd makes first.
///
/// `WebPEncodeRGBA` converts the whole picture at once, and libgd hands it a packed copy of
/// its own image: a 12 MP WebP held libgd's image (48 MB), that copy (48 MB) and the YUV
/// planes (18 MB) at once. Here sixteen rows at a time are converted by libwebp's own
/// importer into a small picture and their planes copied into the whole one: chroma is
/// averaged over 2×2 blocks, so strips of even height convert exactly as the whole image
/// does (and opaque pixels' chroma is the same with alpha weighting or without). The
/// caller frees its image between `Picture` and `encoded`.
public enum WebPStillEncoder {
    /// Rows converted per strip (even, for 4:2:0 chroma).
    static let stripRows = 16

    /// The picture as YUV(A) planes, ready to encode.
    public final class Picture {
        private var picture = WebPPicture()

        /// `row(y)` gives row `y` as width × 4 bytes of straight R,G,B,A. `hasAlpha` false
        /// promises every alpha is 255.
        public init(width: Int, height: Int, hasAlpha: Bool, row: (Int) -> [UInt8]) throws(WebPError) {
            guard WebPPictureInit(&picture) != 0 else { throw .versionMismatch }
            guard width > 0, height > 0, width <= Int(WEBP_MAX_DIMENSION), height <= Int(WEBP_MAX_DIMENSION) else {
                throw .encodeFailed(Int(VP8_ENC_ERROR_BAD_DIMENSION.rawValue))
            }
            picture.use_argb = 0
            picture.width = Int32(width)
            picture.height = Int32(height)
            picture.colorspace = hasAlpha ? WEBP_YUV420A : WEBP_YUV420
            guard WebPPictureAlloc(&picture) != 0 else { throw .encodeFailed(Int(picture.error_code.rawValue)) }
            var strip = [UInt8](repeating: 0, count: width * 4 * WebPStillEncoder.stripRows)
            var first = 0
            while first < height {
                let rows = min(WebPStillEncoder.stripRows, height - first)
                for y in 0..<rows {
                    let bytes = row(first + y)
                    guard bytes.count == width * 4 else { throw .encodeFailed(Int(VP8_ENC_ERROR_BAD_DIMENSION.rawValue)) }
                    strip.replaceSubrange((y * width * 4)..<((y + 1) * width * 4), with: bytes)
                }
                try copyStrip(strip, width: width, rows: rows, at: first, hasAlpha: hasAlpha)
                first += rows
            }
        }

        deinit { WebPPictureFree(&picture) }

        private func copyStrip(_ rgba: [UInt8], width: Int, rows: Int, at first: Int, hasAlpha: Bool) throws(WebPError) {
            var part = WebPPicture()
            guard WebPPictureInit(&part) != 0 else { throw .versionMismatch }
            defer { WebPPictureFree(&part) }
            part.use_argb = 0
            part.width = Int32(width)
            part.height = Int32(rows)
            let imported = rgba.withUnsafeBufferPointer { WebPPictureImportRGBA(&part, $0.baseAddress, Int32(width * 4)) }
            guard imported != 0 else { throw .encodeFailed(Int(part.error_code.rawValue)) }
            let chromaWidth = (width + 1) / 2, chromaRows = (rows + 1) / 2
            for y in 0..<rows {
                (picture.y + (first + y) * Int(picture.y_stride)).update(
                    from: part.y + y * Int(part.y_stride), count: width)
            }
            for y in 0..<chromaRows {
                let target = first / 2 + y
                (picture.u + target * Int(picture.uv_stride)).update(from: part.u + y * Int(part.uv_stride), count: chromaWidth)
                (picture.v + target * Int(picture.uv_stride)).update(from: part.v + y * Int(part.uv_stride), count: chromaWidth)
            }
            guard hasAlpha else { return }
            for y in 0..<rows {
                let target = picture.a + (first + y) * Int(picture.a_stride)
                if let alpha = part.a {
                    target.update(from: alpha + y * Int(part.a_stride), count: width)
                } else {
                    // An opaque strip of a translucent image: libwebp leaves its alpha out.
                    target.update(repeating: 0xFF, count: width)
                }
            }
        }

        /// Encoded at libwebp's `quality` (0–100) with its default preset.
        ///
        /// An opaque picture's analysis pass runs on two threads (`thread_level`), the same
        /// bytes: a 12 MP photo 1049 → 1003 ms, the same CPU and peak, a 512-px one unchanged
        /// (`progimage-bench --chain .webp`, three runs each). Not with alpha: there it
        /// encodes the alpha plane beside the colour, 1311 → 1190 ms but a peak 40 MB higher.
        public func encoded(quality: Int) throws(WebPError) -> [UInt8] {
            var config = WebPConfig()
            guard WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, Float(quality)) != 0 else { throw .versionMismatch }
            config.thread_level = picture.colorspace == WEBP_YUV420 ? 1 : 0
            var writer = WebPMemoryWriter()
            WebPMemoryWriterInit(&writer)
            defer { WebPMemoryWriterClear(&writer) }
            picture.writer = WebPMemoryWrite
            let ok = withUnsafeMutablePointer(to: &writer) { writerPointer in
                picture.custom_ptr = UnsafeMutableRawPointer(writerPointer)
                defer { picture.custom_ptr = nil }
                return WebPEncode(&config, &picture)
            }
            guard ok != 0, let bytes = writer.mem else { throw .encodeFailed(Int(picture.error_code.rawValue)) }
            return Array(UnsafeBufferPointer(start: bytes, count: writer.size))
        }
    }
}
