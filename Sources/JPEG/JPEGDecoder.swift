internal import CJPEG

/// Decodes 8-bit baseline and progressive JPEG through libjpeg-turbo's libjpeg API,
/// optionally scaled by 1/2, 1/4 or 1/8 in the DCT domain ("shrink-on-load": a 12 MP
/// decode drops from ~36 ms to ~20 ms at 1/4 on this machine).
///
/// The libjpeg API rather than TurboJPEG's: TurboJPEG 2.1 reports some fatal errors as
/// warnings (a Huffman table used before it is defined stops libjpeg after no rows, and
/// `tjDecompress2` says "warning"), so a caller could not tell a whole image from a buffer
/// the decoder never wrote. Here every row is counted, each libjpeg warning is classified
/// (the rule is `pg_jpeg_warning_damages` in Sources/CJPEG), and the ICC profile and CMYK
/// come out of the same parse.
public enum JPEGDecoder {
    /// What `decode` hands back, in the stored colour space.
    public struct Decoded: Sendable {
        public enum Layout: Sendable, Equatable {
            /// B, G, R, X (X = 0xFF).
            case bgrx
            /// C, M, Y, K; `inverted` when Adobe's convention (0 = full ink) applies.
            case cmyk(inverted: Bool)
            /// One byte a pixel: the file's luma (asked for with `greyWhenUnprofiled`).
            case grey
        }

        public let width: Int
        public let height: Int
        public let stride: Int
        public let layout: Layout
        public var bytes: [UInt8]
        /// The embedded ICC profile, reassembled from its APP2 chunks.
        public let iccProfile: [UInt8]?
    }

    /// Decodes every row at `1/scaleDenominator` (1, 2, 4 or 8), or throws: a decode that
    /// stopped early or lost data is never returned, so no pixel is memory the decoder did
    /// not write. A large file with a restart interval near its middle is decoded in two
    /// parts on two threads (`pg_jpeg_read_in_parts`), the same pixels, unless `inParts`
    /// is turned off (to compare the two).
    ///
    /// With a `region` (inside the image, at 1/1), only its rows and columns are decoded
    /// and returned: a crop of a 12 MP photo skips the IDCT and colour conversion of
    /// everything outside it, and, when a restart marker begins an MCU row above it (the
    /// restart-marked copy has one on every row), the Huffman decoding of the rows above
    /// that marker too. The region's rows are checked as a whole decode's are; what
    /// follows them is not read.
    ///
    /// `greyWhenUnprofiled` decodes only the luma of a YCbCr or grey file without an ICC
    /// profile (layout `.grey`): Rec. 601 luma is what the encoder stored as Y, so a
    /// grayscale needs neither chroma nor colour conversion.
    public static func decode(
        _ bytes: [UInt8], scaleDenominator: Int, region: (x: Int, y: Int, width: Int, height: Int)? = nil,
        greyWhenUnprofiled: Bool = false, inParts: Bool = true
    ) throws(JPEGError) -> Decoded {
        var message = [CChar](repeating: 0, count: 256)
        return try bytes.withUnsafeBufferPointer { (source) throws(JPEGError) -> Decoded in
            var info = pg_jpeg_info()
            var status = PG_JPEG_OK
            // A region below a restart marker is decoded from there: the rows above it are
            // not even Huffman-decoded. Its row `y` is then `entry` rows further up.
            var entry = 0
            var opened: OpaquePointer?
            if let region, scaleDenominator == 1 {
                var mcuHeight: Int32 = 0
                let start = pg_jpeg_restart_row_above(source.baseAddress, source.count, Int32(region.y), &mcuHeight)
                if start > 0 {
                    opened = pg_jpeg_open_at_row(source.baseAddress, source.count, 1, start, &info, &status, &message)
                    if opened != nil { entry = Int(start) * Int(mcuHeight) }
                }
            }
            if opened == nil {
                opened = pg_jpeg_open(source.baseAddress, source.count, Int32(scaleDenominator), &info, &status, &message)
            }
            guard let decoder = opened else { throw JPEGError(status, message) }
            defer { pg_jpeg_close(decoder) }

            var profile: UnsafePointer<UInt8>?
            let profileLength = pg_jpeg_icc_profile(decoder, &profile)
            let iccProfile = profile.map { Array(UnsafeBufferPointer(start: $0, count: profileLength)) }

            let grey = greyWhenUnprofiled && pg_jpeg_prefer_grey(decoder) != 0
            let (width, height) = region.map { ($0.width, $0.height) } ?? (Int(info.output_width), Int(info.output_height))
            let stride = width * (grey ? 1 : 4)
            var readStatus = PG_JPEG_OK
            let pixels = [UInt8](unsafeUninitializedCapacity: stride * height) { buffer, count in
                if let region {
                    readStatus = pg_jpeg_read_region(
                        decoder, Int32(region.x), Int32(region.y - entry), Int32(region.width), Int32(region.height),
                        buffer.baseAddress, &message)
                } else if !inParts {
                    readStatus = pg_jpeg_read(decoder, buffer.baseAddress, stride, &message)
                } else {
                    readStatus = pg_jpeg_read_in_parts(
                        decoder, source.baseAddress, source.count, Int32(scaleDenominator), buffer.baseAddress, stride,
                        &message)
                }
                // Returned only when every row was written; a failure throws the buffer away.
                count = stride * height
            }
            guard readStatus == PG_JPEG_OK else { throw JPEGError(readStatus, message) }
            return Decoded(
                width: width, height: height, stride: stride,
                // Every CMYK JPEG is read as Adobe's inverted inks, with its APP14 marker or
                // without (one stripped by a tool): so do Chromium, Firefox, libvips and
                // Pillow. Read as plain inks, such a file came out as its negative (a probe:
                // red as black, a photo 133 levels off on average).
                layout: grey ? .grey : info.cmyk != 0 ? .cmyk(inverted: true) : .bgrx,
                bytes: pixels, iccProfile: iccProfile)
        }
    }
}
