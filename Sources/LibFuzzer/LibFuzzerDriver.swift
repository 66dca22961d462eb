// Only in `make fuzz`'s build (-DFUZZING), the one that links libFuzzer: elsewhere the
// driver symbol does not exist, and this module is empty.
#if FUZZING
/// libFuzzer's driver, for a target built with `-sanitize=fuzzer`. SwiftPM links an
/// executable with its `main` renamed, so libFuzzer's own `main` is never the entry point;
/// the executable's `main` calls `run` instead, which hands over to `LLVMFuzzerRunDriver`.
public enum LibFuzzerDriver {
    /// Runs the fuzzer over the command line's corpus and options, calling `body` with
    /// each input; returns libFuzzer's exit code.
    public static func run(_ body: @escaping @Sendable ([UInt8]) -> Void) -> Int32 {
        target = body
        var count = CommandLine.argc
        var arguments = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
            LibFuzzerDriver.target?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
    }

    /// A C callback captures nothing: the one target lives here for the run.
    nonisolated(unsafe) private static var target: (@Sendable ([UInt8]) -> Void)?
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
