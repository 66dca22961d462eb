// progimage-fuzz: every decoder behind one entry point, for libFuzzer (`make fuzz`).
//
// Built normally it replays files given as arguments (a crash found by the fuzzer, say)
// through the same function; `make fuzz` builds it with `-sanitize=fuzzer,address
// -parse-as-library -DFUZZING`, where libFuzzer supplies `main`.
import GD
import ProgimageAPI
import ProgimageCore

/// Sniffs and decodes like an upload, then decodes again and checks that the same bytes
/// gave the same pixels: a decoder that leaves part of its buffer unwritten trips it.
func decodeTwice(_ bytes: [UInt8]) {
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
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    decodeTwice(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
import Foundation

for path in CommandLine.arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
    decodeTwice([UInt8](data))
    print("ok \(path)")
}
#endif
