#if canImport(Glibc)
import Glibc
#endif
import Malloc
import POSIX
import Synchronization

/// The process's resident memory, for recycling a worker whose RSS only grows
/// (libgd 2.3.3 leaks ~1.2 MB per AVIF encode, libgd #831).
public enum ProcessMemory {
    /// Turns glibc's per-thread cache off, for `withHeapPattern`: the cache hands out small
    /// chunks (up to ~1 KB) without M_PERTURB's fill, and it is a tunable, read only at
    /// start, so the process restarts itself once with it off (no difference in speed
    /// beyond the noise, measured with progimage-bench on a 12 MP JPEG).
    public static func prepareHeapPattern() {
        MallocTuning.restartWithoutThreadCacheIfNeeded()
    }

    /// Runs `body` with every byte malloc hands out a fixed pattern until written, and what
    /// is freed overwritten (glibc's M_PERTURB), so that a C decoder that leaves part of its
    /// buffer unwritten shows the same pattern every time instead of another request's
    /// pixels. libde265 (HEIC, through libheif) does exactly that on a damaged HEVC slice,
    /// silently (libheif reports no error or warning, strict or not): the fuzzer's first
    /// find, a mutated HEIC whose two decodes differed in 96 bytes. Only around libheif's
    /// decodes: process-wide, the fill touched every page of every block, and libjxl's
    /// encoder asks for far more than it writes: a 12 MP JPEG XL encode took 704 ms and
    /// 789 MB with it, 500 ms and 528 MB without (`MALLOC_PERTURB_`, progimage-bench), and
    /// a 100 MP one went past the unit's 6 GB. Nested and concurrent spans share one
    /// setting: the pattern is on while any is running (another thread's blocks are filled
    /// meanwhile too, which costs time, never correctness). A pattern someone else set
    /// (the fuzzer's, one byte a pass) is left as it is.
    public static func withHeapPattern<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        patternSpans.withLock { spans in
            if spans.running == 0 {
                spans.switchedOn = MallocTuning.perturbByte == 0
                if spans.switchedOn { MallocTuning.perturb(with: 0xA5) }
            }
            spans.running += 1
        }
        defer {
            patternSpans.withLock { spans in
                spans.running -= 1
                if spans.running == 0, spans.switchedOn { MallocTuning.perturb(with: 0) }
            }
        }
        return try body()
    }

    private static let patternSpans = Mutex<(running: Int, switchedOn: Bool)>((0, false))

    /// One heap, kept between requests, handed back when idle (`IdleHeapTrimmer`).
    ///
    /// glibc maps every block over its mmap threshold (32 MB at most) separately and unmaps
    /// it on free, so each 12 MP request faulted in and zeroed its 48 MB buffers afresh:
    /// a third of a full-size flip's time was page faults. With every block in the heap
    /// and no trim on free, a cold `flip:h.jpg` of 12 MP went from 168 to 85 ms over HTTP,
    /// `grayscale.jpg` 156 → 80 ms, `blur:2.jpg` 248 → 169 ms. One arena instead of up to
    /// eight per core: after two rounds of 12 MP conversions (avif, webp, png, heic, tiff)
    /// and an idle trim, `convert` kept 122 MB resident with glibc's default arenas, 93 MB
    /// with two, 51 MB with one, at the same speed; its peak fell from 519 to 372 MB.
    /// Must run before a second thread exists.
    public static func keepOneHeapForReuse() {
        MallocTuning.limitArenas(to: 1)
        MallocTuning.keepLargeBlocksInHeap(trimAbove: 1 << 30)
    }

    /// Resident set size in bytes, from `/proc/self/statm`; nil where unreadable.
    public static func residentBytes() -> Int? {
        guard let statm = try? Files.read("/proc/self/statm") else { return nil }
        let fields = statm.split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
