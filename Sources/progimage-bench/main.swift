// progimage-bench: the worker's in-memory thumbnail path, step by step, for `make bench`
// (bench/bench.py, section 6). It calls the same library code the worker runs, so the
// breakdown cannot drift from what is deployed.
//
// usage: progimage-bench FILE.jpg [ITERATIONS] [WIDTH] [QUALITY]
//        progimage-bench --chain CHAIN.ext FILE [ITERATIONS [OUTPUT]]   (any source format)
// prints one JSON object of medians, in milliseconds of the process's CPU time (all its
// threads: the streamed paths decode on a helper thread); for a chain, wall time too, and the
// peak resident memory the chain added.
#if canImport(Glibc)
import ProgimageDeployment
import Glibc
#endif
import GD
import ProgimageAPI
import ProgimageCore
import JPEG

/// The process's CPU time, every thread's: other people's load on the box (which only delays
/// a step) does not inflate it, and a step that hands work to a helper thread (the streamed
/// JPEG paths) is charged for it. This thread's clock read 3.0 ms for a thumbnail whose
/// decode, on the helper, took 17.
func cpuMilliseconds() -> Double {
    processMilliseconds(CLOCK_PROCESS_CPUTIME_ID)
}

func processMilliseconds(_ clock: clockid_t) -> Double {
    var now = timespec()
    clock_gettime(clock, &now)
    return Double(now.tv_sec) * 1e3 + Double(now.tv_nsec) / 1e6
}

/// `VmRSS` or `VmHWM` from /proc/self/status, in MB.
func residentMegabytes(_ key: String) -> Double {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(key + ":") {
            return Double(text.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0) / 1024
        }
    }
    return 0
}

/// Starts a new peak: writing 5 to clear_refs resets VmHWM to the current VmRSS (Linux 4.0+).
func resetPeakResident() {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", file)
    fclose(file)
}

func median(_ samples: [Double]) -> Double {
    let sorted = samples.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func timed(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = cpuMilliseconds()
        try body()
        samples.append(cpuMilliseconds() - start)
    }
    return median(samples)
}

/// Medians of wall time, for what runs on two threads: its CPU time is the same either way.
func timedWall(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = processMilliseconds(CLOCK_MONOTONIC)
        try body()
        samples.append(processMilliseconds(CLOCK_MONOTONIC) - start)
    }
    return median(samples)
}

func fail(_ message: String) -> Never {
    let line = "progimage-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

/// One chain (`flip:h.jpg`, `resize:512x512.png`) on one source: the cells `make bench`
/// compares with libvips, timed without HTTP so a profiler sees only the pipeline.
func timeChain(_ chainPath: String, file: String, iterations: Int, writingTo outputPath: String?) throws {
    let original = try readFile(file)
    let limits = try ServiceConfiguration(environment: [:])
    let inspected = try ImageIngest(maxUploadBytes: limits.maxUploadBytes, maxPixels: limits.maxPixels).inspect(original)
    guard let dot = chainPath.lastIndex(of: "."), let format = ImageFormat(rawValue: String(chainPath[chainPath.index(after: dot)...]))
    else { fail("\(chainPath): the chain ends in .{format}") }
    let operations = chainPath[..<dot]
    let chain = operations.isEmpty ? OperationChain(operations: [], format: format) : try OperationParser.parse(operations, format: format).chain
    let pipeline = ImagePipeline(maxPixels: limits.maxPixels, maxOutputSide: limits.maxOutputSide)
    var output: [UInt8] = []
    var walls: [Double] = [], cpus: [Double] = []
    // From where an idle worker starts: `inspect` above decoded the whole image, and the
    // heap it freed would otherwise hide the chain's own decode from the peak.
    IdleHeapTrimmer.handBackIdleMemory()
    resetPeakResident()
    let residentBefore = residentMegabytes("VmRSS")
    for _ in 0..<iterations {
        let (wall, cpu) = (processMilliseconds(CLOCK_MONOTONIC), processMilliseconds(CLOCK_PROCESS_CPUTIME_ID))
        output = try pipeline.render(original, format: inspected.format, source: inspected.size, chain: chain)
        walls.append(processMilliseconds(CLOCK_MONOTONIC) - wall)
        cpus.append(processMilliseconds(CLOCK_PROCESS_CPUTIME_ID) - cpu)
    }
    // What the chain added to the process at its peak: the decoded image, the codecs' own
    // memory and the output, over the source file already read.
    let peakAdded = residentMegabytes("VmHWM") - residentBefore
    let outputBytes = output.count
    if let outputPath, let file = fopen(outputPath, "wb") {
        fwrite(output, 1, output.count, file)
        fclose(file)
    }
    func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    print("{\"wall\": \(rounded(median(walls))), \"cpu\": \(rounded(median(cpus))), \"out_bytes\": \(outputBytes), "
        + "\"peak_added_mb\": \(rounded(peakAdded))}")
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while case let n = fread(&chunk, 1, chunk.count, file), n > 0 { bytes += chunk[0..<n] }
    return bytes
}

// The worker's heap settings, so the full-size paths fault in no more memory than there.
ProcessMemory.keepOneHeapForReuse()
let arguments = CommandLine.arguments
if arguments.count >= 4, arguments[1] == "--chain" {
    do {
        try timeChain(arguments[2], file: arguments[3], iterations: arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5,
            writingTo: arguments.count > 5 ? arguments[5] : nil)
    } catch {
        fail("\(error)")
    }
    exit(0)
}
guard arguments.count >= 2 else { fail("usage: progimage-bench FILE.jpg [ITERATIONS] [WIDTH] [QUALITY]") }
let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 15 : 15
let width = arguments.count > 3 ? Int(arguments[3]) ?? 800 : 800
let quality = arguments.count > 4 ? Int(arguments[4]) ?? 80 : 80

do {
    let original = try readFile(arguments[1])

    let limits = try ServiceConfiguration(environment: [:])
    let inspected = try ImageIngest(maxUploadBytes: limits.maxUploadBytes, maxPixels: limits.maxPixels).inspect(original)
    guard inspected.format == ImageFormat.jpg else { fail("\(arguments[1]) is not a JPEG") }
    let source = inspected.size
    let pipeline = ImagePipeline(maxPixels: limits.maxPixels, maxOutputSide: limits.maxOutputSide)
    let thumbnail = try OperationParser.parse("resize:\(width)x/quality:\(quality)", format: ImageFormat.jpg).chain
    let fullDecode = try OperationParser.parse("flip:h/resize:\(width)x/quality:\(quality)", format: ImageFormat.jpg).chain
    let planned = try thumbnail.outputSize(for: source, maximumSide: limits.maxOutputSide)
    let shrink = try JPEGSourceHeader(original).shrink(source: source, chain: thumbnail)

    var report: [(String, Double)] = []
    var decodeMedians: [Int: Double] = [:]
    for scale in [1, 2, 4, 8] {
        decodeMedians[scale] = try timed(iterations) { _ = try JPEGDecoder.decode(original, scaleDenominator: scale) }
        report.append(("decode_\(scale)", decodeMedians[scale]!))
    }
    // The fused thumbnail path, one step at a time: each resample feeds the encode after it.
    let decoded = try JPEGDecoder.decode(original, scaleDenominator: shrink)
    var resampleSamples: [Double] = []
    var encodeSamples: [Double] = []
    var outputBytes = 0
    for _ in 0..<iterations {
        let start = cpuMilliseconds()
        let image = try GDImage.tentResampled(
            bgrx: decoded.bytes, width: decoded.width, height: decoded.height, stride: decoded.stride,
            toWidth: planned.width, toHeight: planned.height, extent: ImageDecoder.dctScaledExtent(of: source, shrink: shrink))
        let resampled = cpuMilliseconds()
        outputBytes = try ImageEncoder.encode(image, as: ImageFormat.jpg, quality: quality).count
        resampleSamples.append(resampled - start)
        encodeSamples.append(cpuMilliseconds() - resampled)
    }
    report += [
        ("shrink", Double(shrink)),
        ("decode_shrink", decodeMedians[shrink] ?? decodeMedians[1]!),
        ("resample", median(resampleSamples)),
        ("encode", median(encodeSamples)),
        // What the worker runs between reading the original and storing the result.
        ("total", try timed(iterations) { _ = try pipeline.render(original, format: ImageFormat.jpg, source: source, chain: thumbnail) }),
        ("no_shrink_total", try timed(max(3, iterations / 3)) {
            _ = try pipeline.render(original, format: ImageFormat.jpg, source: source, chain: fullDecode)
        }),
        ("out_bytes", Double(outputBytes)),
    ]
    // The worker decodes a large JPEG in two parts from its restart-marked copy
    // (`RestartMarkedOriginals`), made once per image on an idle thread: wall time of the
    // render from the original and from the copy, turn about, and the copy's own cost.
    if let copy = JPEGRestarts.splitInTwo(original) ? original : JPEGRestarts.restartMarkedCopy(of: original) {
        var whole: [Double] = []
        var parts: [Double] = []
        for _ in 0..<iterations {
            whole.append(try timedWall(1) { _ = try pipeline.render(original, format: ImageFormat.jpg, source: source, chain: thumbnail) })
            parts.append(try timedWall(1) { _ = try pipeline.render(copy, format: ImageFormat.jpg, source: source, chain: thumbnail) })
        }
        report += [
            ("wall_whole", median(whole)), ("wall_parts", median(parts)),
            ("parts_total", try timed(iterations) { _ = try pipeline.render(copy, format: ImageFormat.jpg, source: source, chain: thumbnail) }),
            ("copy_cpu", timed(max(3, iterations / 3)) { _ = JPEGRestarts.restartMarkedCopy(of: original) }),
        ]
    }
    report += [
        ("width", Double(planned.width)),
        ("height", Double(planned.height)),
    ]
    print("{" + report.map { "\"\($0.0)\": \(($0.1 * 1000).rounded() / 1000)" }.joined(separator: ", ") + "}")
} catch {
    fail("\(error)")
}
