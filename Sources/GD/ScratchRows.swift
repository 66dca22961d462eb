#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Rows of 4-byte pixels for an image that never becomes a libgd image (the
/// decode-blur-encode pass), in memory mapped for them and kept for the next request.
///
/// Not malloc's: glibc fills every freed block while a HEIF decode runs
/// (`ProcessMemory.withHeapPattern`), and freeing a 12 MP libgd image cost ~9 ms of that
/// fill on the request's path when it was on for the whole process; fresh mappings cost
/// as much in the kernel clearing their pages. A kept mapping costs neither. It holds the last request's pixels,
/// which nobody sees: every reader of these rows waits for the decoder to have written
/// them, and what is made of a decode that fails is thrown away. The idle trimmer hands it
/// back (`releaseKept`), with the heap.
final class ScratchRows: @unchecked Sendable {
    let rows: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    private let mapping: Mapping

    private final class Mapping: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let length: Int

        init?(length: Int) {
            guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                base != MAP_FAILED
            else { return nil }
            // Faulted in 2 MB at a time where the kernel allows it.
            _ = madvise(base, length, MADV_HUGEPAGE)
            self.base = base
            self.length = length
        }

        deinit { munmap(base, length) }
    }

    /// One mapping kept between requests: the largest recently used.
    private static let kept = Mutex<Mapping?>(nil)

    /// nil when the size overflows or the mapping fails.
    init?(width: Int, height: Int) {
        let (bytes, overflow) = (width * 4).multipliedReportingOverflow(by: height)
        guard width > 0, height > 0, !overflow else { return nil }
        let reused = Self.kept.withLock { kept -> Mapping? in
            guard let mapping = kept, mapping.length >= bytes else { return nil }
            kept = nil
            return mapping
        }
        guard let mapping = reused ?? Mapping(length: bytes) else { return nil }
        self.mapping = mapping
        rows = .allocate(capacity: height)
        for y in 0..<height { rows[y] = (mapping.base + y * width * 4).assumingMemoryBound(to: Int32.self) }
    }

    deinit {
        rows.deallocate()
        let mapping = mapping
        // The larger of this and the kept one stays; the other is unmapped outside the lock.
        let unmapped = Self.kept.withLock { kept -> Mapping? in
            if let current = kept, current.length >= mapping.length { return mapping }
            defer { kept = mapping }
            return kept
        }
        _ = unmapped
    }

    /// Unmaps the kept mapping: for a worker gone quiet.
    static func releaseKept() {
        let released = kept.withLock { kept -> Mapping? in
            defer { kept = nil }
            return kept
        }
        _ = released
    }
}
