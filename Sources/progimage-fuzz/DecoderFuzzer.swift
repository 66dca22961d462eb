// progimage-fuzz: every decoder behind one entry point, for libFuzzer (`make fuzz`).
//
// Built normally it replays files given as arguments (a crash found by the fuzzer, say)
// through the same function; `make fuzz` builds it with `-sanitize=fuzzer -DFUZZING`
// (not address: ASan's allocator would replace glibc's, whose fill the check relies on),
// where libFuzzer's driver runs it. (Not main.swift: even an inactive #if
// branch of top-level code would not parse as a library.)
import GD
import Malloc
import ProgimageAPI
import ProgimageCore

/// Sniffs and decodes like an upload, twice, with glibc filling unwritten memory with a
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
        return image.interleaved(alpha: true)
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
