// progimage-fuzz: every decoder behind one entry point, for libFuzzer (`make fuzz`).
//
// Built normally it replays files given as arguments (a crash found by the fuzzer, say)
// through the same function; `make fuzz` builds it with `-sanitize=fuzzer -DFUZZING`
// (not address: ASan's allocator would replace glibc's, whose fill the check relies on),
// where libFuzzer's driver runs it. (Not main.swift: even an inactive #if
// branch of top-level code would not parse as a library.)
import GD
import JPEG
import Malloc
import PNG
import ProgimageAPI
import ProgimageCore

/// Sniffs and decodes like an upload (and enlarges what is small), twice, with glibc filling unwritten memory with a
/// different byte each time (M_PERTURB; run with the per-thread cache off, which `make
/// fuzz` does, or small chunks escape the fill): a decoder that leaves part of its buffer
/// unwritten gives two different images, and the run stops. HEIC is decoded (a crash
/// still stops the run) but not compared: libde265 leaves damaged slices unwritten and
/// says nothing, which the worker can only turn into a fixed pattern (ProcessMemory).
func decodeTwice(_ bytes: [UInt8]) {
    guard let format = FormatSniffer.sniff(bytes) else { return }
    func pixels(fill: UInt8) -> [UInt8]? {
        MallocTuning.perturb(with: fill)
        guard let image = try? ImageDecoder.decode(bytes, format: format, maxPixels: 4_000_000) else { return nil }
        let decoded = image.interleaved(alpha: true)
        // Enlarged too, when small (our resampler's ring of rows must never be read unwritten).
        let (width, height) = (image.width, image.height)
        guard width <= 256, height <= 256,
            let enlarged = try? image.scaled(width: width * 3 / 2 + 1, height: height * 5 / 4 + 1)
        else { return decoded }
        return decoded + enlarged.interleaved(alpha: true)
    }
    let first = pixels(fill: 0xA5)
    let second = pixels(fill: 0x3C)
    if format != .heic && first != second { fatalError("two decodes of the same \(format.rawValue) bytes differ") }
    // An animation's later frames go through the frame-by-frame path: every frame, twice.
    func frames(fill: UInt8) -> [UInt8]? {
        MallocTuning.perturb(with: fill)
        guard let animation = try? AnimationFrames(bytes, format: format, maxPixels: 4_000_000),
            animation.frameCount <= 64
        else { return nil }
        var all: [UInt8] = []
        let played: ()? = try? animation.forEach { frame, duration throws(ServiceError) in
            all += frame.interleaved(alpha: true) + [UInt8(truncatingIfNeeded: duration)]
        }
        return played == nil ? nil : all
    }
    if frames(fill: 0xA5) != frames(fill: 0x3C) { fatalError("two plays of the same \(format.rawValue) animation differ") }
    // A translucent PNG's conversions read it through libpng to 8-bit RGBA (StraightRGBA).
    func libpng(fill: UInt8) -> [UInt8]? {
        MallocTuning.perturb(with: fill)
        return LibPNGReader.rgba(bytes, maximumPixels: 4_000_000)?.bytes
    }
    if format == .png, libpng(fill: 0xA5) != libpng(fill: 0x3C) { fatalError("two libpng reads of the same PNG differ") }
    // What an upload checks beyond the decode: a GIF's LZW pixel count, every frame of an
    // animated WebP (a crash stops the run).
    _ = try? ImageIngest(maxUploadBytes: 1 << 26, maxPixels: 4_000_000).inspect(bytes)
    if format == .jpg {
        streamedJPEGMatchesTheLongWay(bytes)
        partsMatchTheWholeDecode(bytes)
    }
}

/// A JPEG decoded in two parts from a restart marker (`JPEGRowSource`,
/// `pg_jpeg_read_in_parts`) against the same file decoded whole: the same pixels or the
/// same refusal, at 1/1 and 1/2; and the restart-marked copy, when one is made, decodes to
/// the original's pixels. Only inputs over `JPEGRestarts.partPixels` reach the two parts.
func partsMatchTheWholeDecode(_ bytes: [UInt8]) {
    guard let stored = try? ImageDecoder.storedSize(of: bytes, format: .jpg),
        (try? ImageDecoder.checkPixelLimit(stored, maxPixels: 4_000_000)) != nil
    else { return }
    func rows(_ bytes: [UInt8], _ scale: Int, inParts: Bool) -> [UInt8]? {
        do {
            return try GDImage.decodedJPEG(bytes, scaleDenominator: scale, inParts: inParts)?.interleaved(alpha: false)
        } catch {
            return nil
        }
    }
    func buffered(_ bytes: [UInt8], _ scale: Int, inParts: Bool) -> [UInt8]? {
        try? JPEGDecoder.decode(bytes, scaleDenominator: scale, inParts: inParts).bytes
    }
    for scale in [1, 2] {
        let whole = rows(bytes, scale, inParts: false)
        if rows(bytes, scale, inParts: true) != whole { fatalError("a JPEG decoded in two parts differs from the whole") }
        if buffered(bytes, scale, inParts: true) != buffered(bytes, scale, inParts: false) {
            fatalError("a JPEG decoded in two parts into a buffer differs from the whole")
        }
        if let whole, let copy = JPEGRestarts.restartMarkedCopy(of: bytes), rows(copy, scale, inParts: true) != whole {
            fatalError("the restart-marked copy of a JPEG decodes to other pixels")
        }
    }
}

/// The JPEG paths that work on rows while a helper thread decodes them (a first blur, the
/// thumbnail, the thumbnail encoded as it comes, `blur:σ.jpg` in one pass; scratch rows
/// kept between calls): under two
/// different fills, the pixels and bytes of decoding whole and then blurring, resampling
/// or encoding, or the same refusal. A row read before the decoder wrote it, or a band
/// written twice, would differ.
func streamedJPEGMatchesTheLongWay(_ bytes: [UInt8]) {
    // The worker checks the header against its pixel limit before any of these paths.
    guard let stored = try? ImageDecoder.storedSize(of: bytes, format: .jpg),
        (try? ImageDecoder.checkPixelLimit(stored, maxPixels: 4_000_000)) != nil
    else { return }
    MallocTuning.perturb(with: 0xA5)
    var blurred: [UInt8]?, resized: [UInt8]?, encoded: [UInt8]?, thumbnail: [UInt8]?
    var size = (width: 0, height: 0)
    do {
        if let whole = try GDImage.decodedJPEG(bytes, scaleDenominator: 1) {
            size = (whole.width, whole.height)
            let soft = try whole.blurred(sigma: 1.5)
            blurred = soft.interleaved(alpha: false)
            encoded = try soft.jpegEncoded(quality: 80, grey: soft.isGrey)
        }
    } catch {}
    let (halfWidth, halfHeight) = ((size.width + 1) / 2, (size.height + 1) / 2)
    let target = (width: max(1, halfWidth / 3), height: max(1, halfHeight / 3))
    do {
        if size.width > 0, let half = try GDImage.decodedJPEG(bytes, scaleDenominator: 2) {
            // The streamed tent maps the rows by what they stand for (an odd side at 1/2 is
            // a half row short): the buffered tent with the same extent, not `scaled`, which
            // the property compared with until the fourteenth session and which failed on
            // the first odd-sized seed, so `make fuzz` had stopped at its seeds.
            let small = try GDImage.tentResampled(
                bgrx: half.packedBGRX(), width: half.width, height: half.height, stride: half.width * 4,
                toWidth: target.width, toHeight: target.height,
                extent: GDImage.dctScaledExtent(width: size.width, height: size.height, scale: 2))
            resized = small.interleaved(alpha: false)
            thumbnail = try small.jpegEncoded(quality: 80, grey: small.isGrey)
        }
    } catch {}
    for fill: UInt8 in [0x3C, 0xC3] {
        MallocTuning.perturb(with: fill)
        var streamedBlur: [UInt8]?, streamedResize: [UInt8]?, fused: [UInt8]?
        var fusedApplies = true, thumbnailApplies = false, fusedThumbnail: [UInt8]?
        do {
            if let image = try GDImage.decodedJPEG(bytes, blurredBy: 1.5) { streamedBlur = image.interleaved(alpha: false) }
        } catch {}
        do {
            if size.width > 0,
                let image = try GDImage.decodedJPEG(bytes, scaleDenominator: 2, resizedTo: target.width, target.height)
            {
                streamedResize = image.interleaved(alpha: false)
            }
        } catch {}
        do {
            fused = try GDImage.blurredJPEG(bytes, sigma: 1.5, quality: 80)
            // nil: the one-pass path declined (a small image), which is no answer to compare.
            fusedApplies = fused != nil
        } catch {}
        do {
            if size.width > 0 {
                fusedThumbnail = try GDImage.thumbnailJPEG(
                    bytes, scaleDenominator: 2, resizedTo: target.width, target.height, quality: 80)
                thumbnailApplies = fusedThumbnail != nil
            }
        } catch {
            thumbnailApplies = true
        }
        if streamedBlur != blurred { fatalError("the streamed blur of a JPEG differs from the long way") }
        if size.width > 0, streamedResize != resized { fatalError("the streamed thumbnail of a JPEG differs from the long way") }
        if fusedApplies, fused != encoded { fatalError("the one-pass blur of a JPEG differs from the long way") }
        if thumbnailApplies, fusedThumbnail != thumbnail {
            fatalError("the thumbnail encoded as it comes differs from the long way")
        }
    }
}

#if FUZZING
import LibFuzzer

/// SwiftPM renames an executable's `main` to this symbol; libFuzzer's driver takes over.
@_cdecl("progimage_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: OpaquePointer?) -> Int32 {
    LibFuzzerDriver.run(decodeTwice)
}
#else
import Foundation

/// Replays files (a crash the fuzzer saved, say) through the same function.
@main enum DecoderFuzzer {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
            decodeTwice([UInt8](data))
            print("ok \(path)")
        }
    }
}
#endif
