internal import CHeif

/// Decodes the primary image of a HEIF/AVIF file with libheif directly.
///
/// Default decoding options apply the `clap`, `irot` and `imir` properties, so what comes
/// out is the displayed image (libgd's HEIF path turns them off and shears widths not
/// divisible by 4). 10- and 12-bit images come back as 8-bit, or as 16-bit where the
/// caller asks (`decode(_:applyingTransformations:deepWhen:)`).
public enum HEIFDecoder {
    /// The primary image's size as the container declares it, without decoding: the
    /// pre-decode guard against decompression bombs.
    public static func primarySize(of bytes: [UInt8]) throws -> (width: Int, height: Int) {
        try withPrimaryHandle(bytes) { handle in
            (Int(heif_image_handle_get_width(handle)), Int(heif_image_handle_get_height(handle)))
        }
    }

    /// Whether the primary image has an alpha channel (an auxiliary alpha image), from the
    /// container only: `.auto` goes by the declared channel, not by the pixels.
    public static func primaryDeclaresAlpha(_ bytes: [UInt8]) -> Bool {
        (try? withPrimaryHandle(bytes) { handle in heif_image_handle_has_alpha_channel(handle) != 0 }) ?? false
    }

    /// Interleaved 8-bit R,G,B(,A) rows.
    public struct Pixels: Sendable {
        public let width: Int
        public let height: Int
        public let hasAlpha: Bool
        public let stride: Int
        public var bytes: [UInt8]
        /// The primary image's colour description, as the container states it.
        public let color: ColorDescription?

        public init(width: Int, height: Int, hasAlpha: Bool, stride: Int, bytes: [UInt8], color: ColorDescription?) {
            (self.width, self.height, self.hasAlpha, self.stride, self.bytes, self.color) =
                (width, height, hasAlpha, stride, bytes, color)
        }

        /// The same image's colour description and alpha, other rows.
        public func replacing(width: Int, height: Int, stride: Int, bytes: [UInt8]) -> Pixels {
            Pixels(width: width, height: height, hasAlpha: hasAlpha, stride: stride, bytes: bytes, color: color)
        }
    }

    /// Bits per luma sample of the primary image as coded (8, 10, 12); nil when unreadable.
    public static func lumaBitDepth(of bytes: [UInt8]) -> Int? {
        try? withPrimaryHandle(bytes) { handle in Int(heif_image_handle_get_luma_bits_per_pixel(handle)) }
    }

    /// A `colr` box: an ICC profile (`prof`/`rICC`) or `nclx` code points. libheif has
    /// already applied the matrix coefficients and range; what is left is the RGB space.
    public enum ColorDescription: Sendable, Equatable {
        case icc([UInt8])
        case nclx(NCLX)
    }

    /// ISO/IEC 23091-2 code points, with the primaries libheif derived from them (CIE xy).
    public struct NCLX: Sendable, Equatable {
        public let colorPrimaries: Int
        public let transferCharacteristics: Int
        /// False for limited ("video") range: 16–235 luma.
        public let fullRange: Bool
        /// Red x, y, green x, y, blue x, y, white x, y.
        public let chromaticities: [Double]
    }

    /// Decodes to interleaved 8-bit RGB, or RGBA when the image has an alpha plane;
    /// `applyingTransformations` false leaves `clap`, `irot` and `imir` to the caller.
    public static func decode(_ bytes: [UInt8], applyingTransformations: Bool = true) throws -> Pixels {
        guard case .eightBit(let pixels) = try decode(bytes, applyingTransformations: applyingTransformations, deepWhen: { _ in false })
        else { throw HEIFError(message: "an 8-bit decode came back deep") }
        return pixels
    }

    /// Which AV1 decoder libheif hands an AVIF to. libheif 1.15's dav1d plugin (its
    /// default, the fastest) answered success on files with bytes flipped in their tile
    /// data (8 of 8 in a black-box probe) and handed back blocky garbage; libaom, the
    /// reference decoder, reported each ("Corrupt frame detected"), as libavif and libvips
    /// did, and takes twice dav1d's time (12 MP, 620 against 300 ms). AV1 decoding is
    /// exact: the two agree to the bit on a stream both accept. HEIC ignores it.
    public enum AV1Decoder: Sendable {
        /// dav1d: renders, whose source was checked by `reference` at upload.
        case fastest
        /// libaom: an upload's one decode, which must refuse damage.
        case reference

        /// libheif's name for the plugin; nil: libheif's choice.
        var pluginID: String? { self == .reference ? "aom" : nil }
    }

    /// The primary image at the depth its caller wants.
    public enum Decoded {
        case eightBit(Pixels)
        case sixteenBit(SixteenBitPixels)
    }

    /// The primary image from one open of the file: its samples scaled to 16 bits when it
    /// is deeper than 8 bits and `deepWhen` says yes to its colour description (a colour
    /// conversion is then made before they are cut to 8 bits), else 8-bit rows as `decode`.
    /// Deciding in the same open as the decode: a first open only to read the depth and
    /// colour had parsed every AVIF and HEIC twice. Strict, as every decode here.
    public static func decode(
        _ bytes: [UInt8], applyingTransformations: Bool = true, av1Decoder: AV1Decoder = .fastest,
        deepWhen wanted: (ColorDescription?) -> Bool
    ) throws -> Decoded {
        try withPrimaryHandle(bytes) { handle throws -> Decoded in
            let color = colorDescription(handle)
            let hasAlpha = heif_image_handle_has_alpha_channel(handle) != 0
            if heif_image_handle_get_luma_bits_per_pixel(handle) > 8, wanted(color) {
                return .sixteenBit(
                    try decodeSixteenBit(
                        handle, hasAlpha: hasAlpha, color: color, applyingTransformations: applyingTransformations,
                        av1Decoder: av1Decoder))
            }
            return .eightBit(
                try decodeInterleaved(
                    handle, hasAlpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
                    applyingTransformations: applyingTransformations, av1Decoder: av1Decoder
                ) { image, width, height, plane, stride in
                    Pixels(
                        width: width, height: height, hasAlpha: hasAlpha, stride: stride,
                        bytes: Array(UnsafeBufferPointer(start: plane, count: stride * height)), color: color)
                })
        }
    }

    /// Decodes `handle` to one interleaved plane of `chroma` and lends it to `body` (its
    /// width, height, first byte and bytes a row). Strict: a grid with a tile that does not
    /// decode, or a codec that reports an error, is an error. Non-strict libheif "tries its
    /// best" and handed back buffers part of which nobody wrote (the fuzzer found a
    /// mutated HEIC whose two decodes differed).
    private static func decodeInterleaved<T>(
        _ handle: OpaquePointer, _ chroma: heif_chroma, applyingTransformations: Bool = true,
        av1Decoder: AV1Decoder = .fastest,
        _ body: (OpaquePointer, Int, Int, UnsafePointer<UInt8>, Int) throws -> T
    ) throws -> T {
        guard let options = heif_decoding_options_alloc() else { throw HEIFError(message: "out of memory") }
        defer { heif_decoding_options_free(options) }
        options.pointee.strict_decoding = 1
        options.pointee.ignore_transformations = applyingTransformations ? 0 : 1
        var image: OpaquePointer?
        func decode() throws { try HEIFError.check(heif_decode_image(handle, &image, heif_colorspace_RGB, chroma, options)) }
        if let pluginID = av1Decoder.pluginID {
            // For this call only: libheif keeps no copy of the name.
            try pluginID.withCString { (name: UnsafePointer<CChar>) throws in
                options.pointee.decoder_id = name
                defer { options.pointee.decoder_id = nil }
                try decode()
            }
        } else {
            try decode()
        }
        guard let image else { throw HEIFError(message: "libheif returned no image") }
        defer { heif_image_release(image) }
        let width = Int(heif_image_get_width(image, heif_channel_interleaved))
        let height = Int(heif_image_get_height(image, heif_channel_interleaved))
        var stride: Int32 = 0
        guard width > 0, height > 0, let plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride)
        else { throw HEIFError(message: "decoded image has no interleaved plane") }
        return try body(image, width, height, plane, Int(stride))
    }

    /// A primary image deeper than 8 bits, as R,G,B,A samples scaled to 16 bits (alpha
    /// 65535 without one), for a colour conversion made before they are cut to 8 bits.
    public struct SixteenBitPixels: Sendable {
        public let width: Int
        public let height: Int
        public let hasAlpha: Bool
        public let samples: [UInt16]
        public let color: ColorDescription?
    }

    /// The primary image's samples as R,G,B,A scaled to 16 bits.
    private static func decodeSixteenBit(
        _ handle: OpaquePointer, hasAlpha: Bool, color: ColorDescription?, applyingTransformations: Bool,
        av1Decoder: AV1Decoder
    ) throws -> SixteenBitPixels {
        let channels = hasAlpha ? 4 : 3
        return try decodeInterleaved(
            handle, hasAlpha ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBB_LE,
            applyingTransformations: applyingTransformations, av1Decoder: av1Decoder
        ) { image, width, height, plane, stride throws -> SixteenBitPixels in
            let bits = Int(heif_image_get_bits_per_pixel_range(image, heif_channel_interleaved))
            guard (9...16).contains(bits), stride >= width * channels * 2 else {
                throw HEIFError(message: "decoded image has no interleaved 16-bit plane")
            }
            // Each value scaled to 16 bits by a table (4096 entries at 12 bits); a value
            // past the range (none should be) is taken as the largest.
            let largest = 1 << bits - 1
            let scaled = (0...largest).map { UInt16((UInt32($0) * 65535 + UInt32(largest / 2)) / UInt32(largest)) }
            let samples = scaled.withUnsafeBufferPointer { scaled in
                [UInt16](unsafeUninitializedCapacity: width * height * 4) { out, count in
                    for y in 0..<height {
                        // libheif aligns its rows; read each as 16-bit words.
                        let row = UnsafeRawPointer(plane + y * stride).bindMemory(to: UInt16.self, capacity: width * channels)
                        var at = y * width * 4
                        for x in 0..<width {
                            let from = x * channels
                            for c in 0..<3 { out[at + c] = scaled[min(Int(UInt16(littleEndian: row[from + c])), largest)] }
                            out[at + 3] = channels == 4 ? scaled[min(Int(UInt16(littleEndian: row[from + 3])), largest)] : 65535
                            at += 4
                        }
                    }
                    count = width * height * 4
                }
            }
            return SixteenBitPixels(width: width, height: height, hasAlpha: hasAlpha, samples: samples, color: color)
        }
    }

    /// The ICC profile when there is one (an AVIF may carry both), else the `nclx` box.
    private static func colorDescription(_ handle: OpaquePointer) -> ColorDescription? {
        let iccSize = heif_image_handle_get_raw_color_profile_size(handle)
        if iccSize > 0 {
            var profile = [UInt8](repeating: 0, count: iccSize)
            let error = heif_image_handle_get_raw_color_profile(handle, &profile)
            if error.code == heif_error_Ok { return .icc(profile) }
        }
        var nclx: UnsafeMutablePointer<heif_color_profile_nclx>?
        guard heif_image_handle_get_nclx_color_profile(handle, &nclx).code == heif_error_Ok, let nclx else { return nil }
        defer { heif_nclx_color_profile_free(nclx) }
        let n = nclx.pointee
        return .nclx(
            NCLX(
                colorPrimaries: Int(n.color_primaries.rawValue),
                transferCharacteristics: Int(n.transfer_characteristics.rawValue),
                fullRange: n.full_range_flag != 0,
                chromaticities: [
                    n.color_primary_red_x, n.color_primary_red_y, n.color_primary_green_x, n.color_primary_green_y,
                    n.color_primary_blue_x, n.color_primary_blue_y, n.color_primary_white_x, n.color_primary_white_y,
                ].map(Double.init)))
    }

    /// `without_copy` borrows the bytes, so every use of the context stays inside the
    /// closure that lends their address.
    private static func withPrimaryHandle<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { buffer in
            guard let context = heif_context_alloc() else { throw HEIFError(message: "out of memory") }
            defer { heif_context_free(context) }
            try HEIFError.check(heif_context_read_from_memory_without_copy(context, buffer.baseAddress, buffer.count, nil))
            var handle: OpaquePointer?
            try HEIFError.check(heif_context_get_primary_image_handle(context, &handle))
            guard let handle else { throw HEIFError(message: "no primary image") }
            defer { heif_image_handle_release(handle) }
            return try body(handle)
        }
    }
}
