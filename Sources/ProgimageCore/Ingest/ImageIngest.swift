public import ProgimageAPI
import Digest
import GD
import HEIF
import JXL
import TIFF

/// Validates bytes offered as a new original: the checks of the contract's upload
/// section, in its order, with nothing stored until every check has passed.
public struct ImageIngest: Sendable {
    public let maxUploadBytes: Int
    public let maxPixels: Int
    public let animation: AnimationBudget

    /// Decodes at once, across the instance's threads.
    let decodes: ConcurrencyLimit

    public init(
        maxUploadBytes: Int, maxPixels: Int, maxFrames: Int = AnimationBudget.defaultMaxFrames,
        concurrentDecodes: Int = Int.max
    ) {
        self.maxUploadBytes = maxUploadBytes
        self.maxPixels = maxPixels
        animation = AnimationBudget(maxFrames: maxFrames, maxPixels: maxPixels)
        decodes = ConcurrencyLimit(slots: min(concurrentDecodes, 1 << 16))
    }

    /// What an accepted original is.
    public struct Inspected: Sendable {
        public let format: ImageFormat
        /// Displayed size, after orientation.
        public let size: ImageSize
        public let sha256: String
        /// BlurHash (4×3) of the upright image, alpha composited on white.
        public let blurhash: String
        public let hasAlpha: Bool
        public let frames: Int
    }

    /// Empty → 400; over the byte limit → 413; no known signature → 415 (filename and
    /// declared type are ignored); header over the pixel limit → 422 before decoding;
    /// anything that does not decode completely → 422; an animation over its frame or
    /// frames × pixels budget → 422.
    public func inspect(_ bytes: [UInt8]) throws(ServiceError) -> Inspected {
        guard !bytes.isEmpty else { throw ServiceError(.emptyBody, "the request has no image bytes") }
        guard bytes.count <= maxUploadBytes else {
            throw ServiceError(.payloadTooLarge, "the image is \(bytes.count) bytes, over the \(maxUploadBytes)-byte limit")
        }
        guard let format = FormatSniffer.sniff(bytes) else {
            throw ServiceError(
                .unsupportedMediaType, "not an image in a supported format (jpg png gif webp bmp tiff avif heic jxl)")
        }
        return try decodes.whileHeld { () throws(ServiceError) -> Inspected in try decoded(bytes, format: format) }
    }

    /// Pages a multi-page TIFF may have; outputs show the first, and every later one's
    /// directory is read at upload.
    static let maxTIFFPages = 10_000

    /// A multi-page TIFF cut short after its first page is refused like any file that does
    /// not decode completely: its first page decoded whole, so it had been stored, and the
    /// truncated file was what its original URL served.
    static func checkLaterPages(_ bytes: [UInt8]) throws(ServiceError) {
        let pages: Int?
        do {
            pages = try TIFFDecoder.checkedPageCount(bytes, limit: maxTIFFPages)
        } catch {
            throw ServiceError(.corruptImage, error.message)
        }
        guard pages != nil else {
            throw ServiceError(.imageTooLarge, "the tiff has more than \(maxTIFFPages) pages")
        }
    }

    /// The BlurHash of the image composited on white, as a page shows it on a white
    /// background: from the 8-bit rows the jpg and bmp outputs flatten when the file
    /// declares alpha and has them (`StraightRGBA`; libgd's alpha has 7 bits: a translucent
    /// PNG's placeholder was a level off its own `.jpg`, a character off the reference's),
    /// else from libgd's (a GIF's transparency is all or nothing).
    private static func placeholder(
        of image: consuming GDImage, _ bytes: [UInt8], format: ImageFormat, maxPixels: Int
    ) -> String {
        let (width, height) = (image.width, image.height)
        if DeclaredAlphaChannel.isDeclared(in: bytes, format: format),
            let straight = StraightRGBA.decoded(bytes, format: format, maxPixels: maxPixels),
            straight.width == width, straight.height == height
        {
            _ = consume image
            let shown = straight.flattenedOnWhite()
            return BlurHash.encode(width: width, height: height) { y in
                let rgba = shown.row(y)
                var rgb = [UInt8](repeating: 0, count: width * 3)
                for x in 0..<width { (rgb[x * 3], rgb[x * 3 + 1], rgb[x * 3 + 2]) = (rgba[x * 4], rgba[x * 4 + 1], rgba[x * 4 + 2]) }
                return rgb
            }
        }
        let shown = image.flattenedOnWhite()
        return BlurHash.encode(width: width, height: height) { y in shown.interleavedRow(y, alpha: false) }
    }

    /// The checks that need the pixels.
    private func decoded(_ bytes: [UInt8], format: ImageFormat) throws(ServiceError) -> Inspected {
        // Decoded whole to prove it decodes, and in sRGB for the placeholder: as stored,
        // a CMYK JPEG's red had hashed blue, and any profile's colours were taken for sRGB.
        // An AVIF by libaom, which refuses damaged tile data dav1d renders (`HEIFDecoder`).
        let image = try ImageDecoder.decode(bytes, format: format, maxPixels: maxPixels, av1Decoder: .reference)
        let size = ImageSize(width: image.width, height: image.height)
        // A GIF's walk gives its frame count and its frames' area at once, and proves that
        // every frame's data reaches its last pixel.
        let layout = format == .gif ? try GIFStructure.validate(bytes, countingPixelsUpTo: maxPixels) : nil
        let frames = layout.map { max(1, $0.frameCount) } ?? FrameCount.of(bytes, format: format)
        try animation.check(frames: frames, size: size)
        if let layout {
            try animation.check(decodedArea: layout.frameArea)
            // Each frame is decoded whole (libgd allocates it so): none may be larger than
            // a source may be, which the outputs would refuse.
            if layout.largestFrameArea > maxPixels {
                throw ServiceError(
                    .imageTooLarge, "a frame of the gif has \(layout.largestFrameArea) pixels, over the \(maxPixels)-pixel limit")
            }
            // The limits first (a hostile file's answer is the limit's), then the pixels.
            if let problem = layout.imageDataProblem { throw ServiceError(.corruptImage, problem) }
        }
        if format == .tiff { try Self.checkLaterPages(bytes) }
        // Every chunk's CRC (libpng checks the critical ones only; an APNG's later frames
        // are ancillary to it), and every frame of an animated JPEG XL (its first frame's
        // decode proves nothing of the rest): both had been accepted damaged or cut short.
        if format == .png, let problem = PNGChecksums.problem(in: bytes) { throw ServiceError(.corruptImage, problem) }
        if format == .jxl, frames > 1 || (try? JXLDecoder.frameCount(of: bytes)) == nil {
            do {
                try JXLDecoder.decodeEveryFrame(of: bytes)
            } catch {
                throw ServiceError(.corruptImage, "a later frame of the jxl does not decode (damaged or cut short)")
            }
        }
        // An animated WebP's later frames are decoded too: the first alone proves nothing of
        // theirs, and a damaged fourth frame left every animated output a 422.
        if format == .webp, frames > 1 {
            let animation = try AnimationFrames(bytes, format: .webp, maxPixels: maxPixels)
            try animation?.forEach { _, _ throws(ServiceError) in }
        }
        let hasAlpha = DeclaredAlphaChannel.isDeclared(in: bytes, format: format) || !image.isOpaque
        let blurhash = Self.placeholder(of: image, bytes, format: format, maxPixels: maxPixels)
        return Inspected(
            format: format, size: size, sha256: SHA256.hex(bytes), blurhash: blurhash, hasAlpha: hasAlpha,
            frames: frames)
    }
}
