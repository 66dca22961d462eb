internal import CHeif

/// Encodes interleaved 8-bit pixels as AVIF (AV1, aom) or HEIC (HEVC, x265) with libheif.
public enum HEIFEncoder {
    public enum Codec: Sendable {
        case avif, heic
    }

    /// Encoder effort. Measured on this machine (800×600): aom at its default speed takes
    /// ~150 ms, at speed 8 a fraction of that for a few percent more bytes.
    static let aomSpeed: Int32 = 8

    public static func encode(
        rgb pixels: [UInt8], width: Int, height: Int, hasAlpha: Bool, codec: Codec, quality: Int
    ) throws(HEIFError) -> [UInt8] {
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
        case .heic: _ = heif_encoder_set_parameter_string(encoder, "preset", "fast")
        }

        var image: OpaquePointer?
        try HEIFError.check(
            heif_image_create(
                Int32(width), Int32(height), heif_colorspace_RGB,
                hasAlpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &image))
        guard let image else { throw HEIFError(message: "out of memory") }
        defer { heif_image_release(image) }
        try HEIFError.check(heif_image_add_plane(image, heif_channel_interleaved, Int32(width), Int32(height), 8))
        var stride: Int32 = 0
        guard let plane = heif_image_get_plane(image, heif_channel_interleaved, &stride) else {
            throw HEIFError(message: "no plane")
        }
        let rowBytes = width * (hasAlpha ? 4 : 3)
        pixels.withUnsafeBytes { source in
            for y in 0..<height {
                (plane + y * Int(stride)).update(
                    from: source.baseAddress!.advanced(by: y * rowBytes).assumingMemoryBound(to: UInt8.self),
                    count: rowBytes)
            }
        }

        try HEIFError.check(heif_context_encode_image(context, image, encoder, nil, nil))
        var buffer = cheif_buffer(data: nil, size: 0)
        defer { free(buffer.data) }
        try HEIFError.check(cheif_context_write_to_buffer(context, &buffer))
        guard let data = buffer.data else { throw HEIFError(message: "empty output") }
        return Array(UnsafeBufferPointer(start: data, count: buffer.size))
    }
}
