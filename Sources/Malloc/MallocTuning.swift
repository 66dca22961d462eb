#if canImport(Glibc)
import Glibc
#endif
internal import CMalloc
import Synchronization

/// glibc malloc's process-wide options.
public enum MallocTuning {
    /// `mallopt(M_PERTURB, byte)`: memory malloc hands out (not calloc's) is filled with
    /// `~byte`, and freed memory with `byte`; 0 turns the fill off. Returns false where
    /// glibc refuses.
    @discardableResult
    public static func perturb(with byte: UInt8) -> Bool {
        guard cmalloc_set_perturb(Int32(byte)) == 1 else { return false }
        perturbation.store(byte, ordering: .relaxed)
        return true
    }

    /// The byte last set by `perturb(with:)` (glibc has no call that reads it back).
    public static var perturbByte: UInt8 { perturbation.load(ordering: .relaxed) }

    private static let perturbation = Atomic<UInt8>(0)

    /// `mallopt(M_ARENA_MAX, count)`: at most `count` heaps, however many threads allocate.
    @discardableResult
    public static func limitArenas(to count: Int) -> Bool {
        cmalloc_set_arena_max(Int32(count)) == 1
    }

    /// `mallopt(M_MMAP_MAX, 0)` and `mallopt(M_TRIM_THRESHOLD, bytes)`: every block comes
    /// from the heap (none from its own mapping, which is unmapped again on free), and a
    /// free does not shrink the heap until `bytes` are free at its top.
    @discardableResult
    public static func keepLargeBlocksInHeap(trimAbove bytes: Int) -> Bool {
        cmalloc_set_mmap_max(0) == 1 && cmalloc_set_trim_threshold(Int32(clamping: bytes)) == 1
    }

    /// `malloc_trim(0)`: hands every whole free page of every arena back to the kernel.
    /// Returns whether any memory was released.
    @discardableResult
    public static func releaseFreePages() -> Bool {
        malloc_trim(0) == 1
    }

    private static let noThreadCache = "glibc.malloc.tcache_count=0"

    /// Whether glibc's per-thread cache is off in this process: its chunks (up to ~1 KB)
    /// are handed out and taken back without M_PERTURB's fill.
    public static var threadCacheIsOff: Bool {
        guard let value = getenv("GLIBC_TUNABLES") else { return false }
        return String(cString: value).split(separator: ":").contains { $0 == noThreadCache }
    }

    /// Starts this program again with the per-thread cache off, unless it already is:
    /// tunables are read once, when the process starts. Open descriptors (a listening
    /// socket on fd 0) survive the exec. Returns only if the exec failed, leaving the
    /// process as it was.
    public static func restartWithoutThreadCacheIfNeeded() {
        guard !threadCacheIsOff else { return }
        let current = getenv("GLIBC_TUNABLES").map { String(cString: $0) } ?? ""
        setenv("GLIBC_TUNABLES", current.isEmpty ? noThreadCache : current + ":" + noThreadCache, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
    }
}
