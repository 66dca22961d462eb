// progimage-fuzz: every decoder behind one entry point, for libFuzzer (`make fuzz`).
//
// Built normally it replays files given as arguments (a crash found by the fuzzer, say)
// through the same function; `make fuzz` builds it with `-sanitize=fuzzer,address
// -DFUZZING`, where libFuzzer's driver runs it. (Not main.swift: even an inactive #if
// branch of top-level code would not parse as a library.)
import GD
import ProgimageAPI
import ProgimageCore

/// Sniffs and decodes like an upload, then decodes again and checks that the same bytes
/// gave the same pixels: a decoder that leaves part of its buffer unwritten trips it.
func decodeTwice(_ bytes: [UInt8]) {
    // As the worker runs: libde265 leaves damaged slices unwritten, and nothing reports it.
    ProcessMemory.fillUnwrittenHeapWithPattern()
    guard let format = FormatSniffer.sniff(bytes) else { return }
    func pixels() -> [UInt8]? {
        guard let image = try? ImageDecoder.decode(bytes, format: format, maxPixels: 4_000_000) else { return nil }
        return image.interleaved(alpha: true)
    }
    let first = pixels()
    // Scribble over freed memory so that a second decode reusing it sees other bytes.
    var scratch = [UInt8](repeating: 0xA5, count: 1 << 20)
    scratch[scratch.count - 1] = 0x5A
    withExtendedLifetime(scratch) {}
    if first != pixels() { fatalError("two decodes of the same \(format.rawValue) bytes differ") }
}

#if FUZZING
/// libFuzzer's driver, which runs `fuzzOneInput` over the corpus and its mutations.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links an executable with its `main` renamed to this symbol, so libFuzzer's own
/// `main` cannot be the entry point: this one hands over to the driver instead.
@_cdecl("progimage_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        decodeTwice(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
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
