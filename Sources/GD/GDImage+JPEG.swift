internal import CGD
internal import CJPEG

extension GDImage {
    /// What a JPEG decoded at 1/`scale` stands for, in its own pixels: libjpeg rounds a
    /// scaled side up (1601 / 8 → 201 columns) and the last row and column are partial
    /// blocks, so the picture is `size / scale` of them (200.125), which resampling must map,
    /// or the content stretches towards the far edges.
    public static func dctScaledExtent(width: Int, height: Int, scale: Int) -> (width: Double, height: Double) {
        (Double(width) / Double(scale), Double(height) / Double(scale))
    }

    /// Why a JPEG decode into a libgd image stopped, in libjpeg's words.
    public enum JPEGDecodeFailure: Error, Sendable {
        case corrupt(String)
        case unsupported(String)
        case outOfMemory
    }

    /// A JPEG decoded straight into a new image's rows at 1/`scaleDenominator`: no 48 MB
    /// buffer for a 12 MP photo, no copy from it (~8 ms), nothing to convert; in two parts
    /// on two threads when its restart markers allow (`JPEGRowSource`) and `inParts` is
    /// not turned off (to compare the two). nil when the file
    /// needs a colour conversion (an ICC profile, CMYK): those go through a buffer. As
    /// strict as every decode here: a file that lost data throws.
    public static func decodedJPEG(
        _ bytes: [UInt8], scaleDenominator: Int, inParts: Bool = true
    ) throws(JPEGDecodeFailure) -> GDImage? {
        let message = JPEGMessageBuffer()
        let decoded = try bytes.withUnsafeBufferPointer { (source) throws(JPEGDecodeFailure) -> gdImagePtr? in
            guard
                let decoder = try JPEGRowSource(
                    source, scaleDenominator: scaleDenominator, message: message, inParts: inParts)
            else { return nil }
            guard let raw = gdImageCreateTrueColor(decoder.width, decoder.height) else { throw .outOfMemory }
            let read = decoder.decodeEveryPart(into: cgd_rows(raw)!, clearingFourth: true)
            guard read == PG_JPEG_OK else {
                gdImageDestroy(raw)
                throw JPEGDecodeFailure(read, message: decoder.failureText)
            }
            return raw
        }
        return decoded.map { GDImage(owning: $0, knownOpaque: true) }
    }

    /// A baseline JPEG of these pixels, libgd's rows handed to libjpeg one by one: the
    /// contiguous copy TurboJPEG needed was 48 MB and ~10 ms of every 12 MP JPEG output.
    /// 4:2:0 YCbCr, or one grey component when `grey`; alpha is ignored (flatten first).
    public func jpegEncoded(quality: Int, grey: Bool) throws(GDError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        // gd's rows are `int *`: in memory each pixel is B, G, R, alpha, which libjpeg's
        // JCS_EXT_BGRX reads as it is, ignoring the fourth byte.
        let status = UnsafeRawPointer(cgd_rows(raw)!).withMemoryRebound(
            to: UnsafeMutablePointer<UInt8>?.self, capacity: height
        ) { rows in
            pg_jpeg_encode(rows, Int32(width), Int32(height), Int32(quality), grey ? 1 : 0, &output, &size, &message)
        }
        defer { free(output) }
        guard status == PG_JPEG_OK, let output, size > 0 else { throw .encodeFailed("jpeg") }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

extension GDImage.JPEGDecodeFailure {
    init(_ status: pg_jpeg_status, message: String) {
        switch status {
        case PG_JPEG_OUT_OF_MEMORY: self = .outOfMemory
        case PG_JPEG_UNSUPPORTED: self = .unsupported(message)
        default: self = .corrupt(message)
        }
    }
}
