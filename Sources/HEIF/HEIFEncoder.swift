internal import CHeif

/// Encodes 8-bit RGB(A) pixels as AVIF (AV1, aom) or HEIC (HEVC, x265) with libheif.
///
/// In two steps, so that the caller can free its own copy of the pixels in between: the
/// rows are copied into libheif's image (`Picture`), then encoded. A 12 MP AVIF held the
/// caller's packed copy (36 MB) through an encode that itself peaks ~200 MB above it.
public enum HEIFEncoder {
    public enum Codec: Sendable {
        case avif, heic
    }

    /// Encoder effort. Measured on this machine (800×600): aom at its default speed takes
    /// ~150 ms, at speed 8 a fraction of that for a few percent more bytes.
    static let aomSpeed: Int32 = 8

    /// x265's coding tree unit, fixed at its default of 64. libheif 1.15 picks 16 or 32 for a
    /// picture narrower or shorter than 64 px, although it pads every picture to at least
    /// 64×64 (and crops it back with a `clap` box); HEVC levels 5 and up forbid 16-px units,
    /// so a 1×5000 or 8000×4 picture, whose long side needs level 5 (over ~4222 px), failed
    /// with "Invalid image size". Pictures with both sides ≥ 64 encode to the same bytes as
    /// before; libheif's own comment also reports x265 crashing when the unit grows between
    /// two encodes in one process, which a fixed size cannot do.
    static let heicCodingBlock = "64"

    /// The pixels in libheif's own interleaved RGB(A) image.
    public final class Picture {
        fileprivate let image: OpaquePointer
        let width: Int
        let height: Int

        /// `row(y)` gives row `y`'s width × 3 (or × 4 with `hasAlpha`) bytes.
        public init(width: Int, height: Int, hasAlpha: Bool, row: (Int) -> [UInt8]) throws(HEIFError) {
            var image: OpaquePointer?
            try HEIFError.check(
                heif_image_create(
                    Int32(width), Int32(height), heif_colorspace_RGB,
                    hasAlpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &image))
            guard let image else { throw HEIFError(message: "out of memory") }
            self.image = image
            self.width = width
            self.height = height
            try HEIFError.check(heif_image_add_plane(image, heif_channel_interleaved, Int32(width), Int32(height), 8))
            var stride: Int32 = 0
            guard let plane = heif_image_get_plane(image, heif_channel_interleaved, &stride) else {
                throw HEIFError(message: "no plane")
            }
            let rowBytes = width * (hasAlpha ? 4 : 3)
            for y in 0..<height {
                let bytes = row(y)
                guard bytes.count == rowBytes else { throw HEIFError(message: "row \(y) has \(bytes.count) bytes") }
                bytes.withUnsafeBufferPointer { (plane + y * Int(stride)).update(from: $0.baseAddress!, count: rowBytes) }
            }
        }

        deinit { heif_image_release(image) }

        /// Says what an AVIF's pixels are: sRGB (BT.709 primaries, the sRGB curve), coded
        /// with BT.601's matrix in full range, which libheif uses when told nothing. Told
        /// nothing, it wrote primaries and transfer "unspecified" (a black-box tester), which
        /// each reader takes as it likes. (A HEIC gets no `nclx` box either way: libheif
        /// leaves it out by default, since macOS could not show a HEIC that has one.)
        private static func describeAsSRGB(_ image: OpaquePointer) throws(HEIFError) {
            guard let nclx = heif_nclx_color_profile_alloc() else { throw HEIFError(message: "out of memory") }
            defer { heif_nclx_color_profile_free(nclx) }
            nclx.pointee.color_primaries = heif_color_primaries_ITU_R_BT_709_5
            nclx.pointee.transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1
            nclx.pointee.matrix_coefficients = heif_matrix_coefficients_ITU_R_BT_601_6
            nclx.pointee.full_range_flag = 1
            try HEIFError.check(heif_image_set_nclx_color_profile(image, nclx))
        }

        public func encoded(as codec: Codec, quality: Int) throws(HEIFError) -> [UInt8] {
            guard let context = heif_context_alloc() else { throw HEIFError(message: "out of memory") }
            defer { heif_context_free(context) }
            var encoder: OpaquePointer?
            try HEIFError.check(
                heif_context_get_encoder_for_format(
                    context, codec == .avif ? heif_compression_AV1 : heif_compression_HEVC, &encoder))
            guard let encoder else { throw HEIFError(message: "no encoder for \(codec)") }
            defer { heif_encoder_release(encoder) }
            try HEIFError.check(heif_encoder_set_lossy_quality(encoder, Int32(quality)))
            switch codec {
            case .avif: _ = heif_encoder_set_parameter_integer(encoder, "speed", aomSpeed)
            case .heic:
                _ = heif_encoder_set_parameter_string(encoder, "preset", "fast")
                try HEIFError.check(heif_encoder_set_parameter_string(encoder, "x265:ctu", heicCodingBlock))
            }
            if codec == .avif { try Self.describeAsSRGB(image) }
            try HEIFError.check(heif_context_encode_image(context, image, encoder, nil, nil))
            var buffer = cheif_buffer(data: nil, size: 0)
            defer { free(buffer.data) }
            try HEIFError.check(cheif_context_write_to_buffer(context, &buffer))
            guard let data = buffer.data else { throw HEIFError(message: "empty output") }
            return Array(UnsafeBufferPointer(start: data, count: buffer.size))
        }
    }
}
