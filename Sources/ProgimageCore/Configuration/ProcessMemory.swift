#if canImport(Glibc)
import Glibc
#endif
import Malloc
import POSIX

/// The process's resident memory, for recycling a worker whose RSS only grows
/// (libgd 2.3.3 leaks ~1.2 MB per AVIF encode, libgd #831).
public enum ProcessMemory {
    /// Makes every byte malloc hands out a fixed pattern until written, and overwrites what
    /// is freed (glibc's M_PERTURB), so that a C decoder that leaves part of its buffer
    /// unwritten shows the same pattern every time instead of another request's pixels.
    /// libde265 does exactly that on a damaged HEVC slice, silently (libheif reports no
    /// error or warning, strict or not): the fuzzer's first find, a mutated HEIC whose two
    /// decodes differed in 96 bytes. glibc's per-thread cache hands out small chunks
    /// (up to ~1 KB) without the fill, so the process first restarts itself with that
    /// cache off (a tunable, read only at start). Cost, measured with progimage-bench on a
    /// 12 MP JPEG: thumbnail +0.1–0.7%, full-size decode path +4–6% (the fill of large
    /// chunks); the cache off, no difference beyond the noise.
    public static func fillUnwrittenHeapWithPattern() {
        MallocTuning.restartWithoutThreadCacheIfNeeded()
        MallocTuning.perturb(with: 0xA5)
    }

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
