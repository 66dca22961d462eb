import Dispatch
import GD
import Malloc
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Gives the heap back to the kernel once a worker has been quiet for a moment.
///
/// glibc keeps freed memory in its arenas: after four 12 MP conversions (avif, webp, png,
/// heic) an idle `convert` instance held 256 MB resident, nearly all of it free. A trim
/// costs milliseconds, so it runs on a timer thread once no request is in flight and the
/// last one finished `idleSeconds` ago, never on a request's path; once per quiet spell.
///
/// `@unchecked`: the timer source is touched only by `init` and `deinit`; the state the
/// threads share is atomic.
public final class IdleHeapTrimmer: @unchecked Sendable {
    private let inFlight = Atomic<Int>(0)
    /// Monotonic milliseconds when the last request finished; 0 once trimmed since.
    private let lastFinished = Atomic<Int>(0)
    private let timer: any DispatchSourceTimer

    public init(idleSeconds: Double = 1) {
        let idle = Int(idleSeconds * 1000)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "progimage.heap-trim", qos: .utility))
        timer.schedule(deadline: .now() + idleSeconds / 2, repeating: idleSeconds / 2)
        timer.setEventHandler { [weak self] in self?.trimIfQuiet(idleMilliseconds: idle) }
        timer.resume()
    }

    private func trimIfQuiet(idleMilliseconds: Int) {
        let finished = lastFinished.load(ordering: .relaxed)
        guard finished != 0, inFlight.load(ordering: .relaxed) == 0, Self.nowMilliseconds() - finished >= idleMilliseconds,
            lastFinished.compareExchange(expected: finished, desired: 0, ordering: .relaxed).exchanged
        else { return }
        Self.handBackIdleMemory()
    }

    /// What an idle worker hands back: the heap's free pages and the kept scratch rows.
    public static func handBackIdleMemory() {
        MallocTuning.releaseFreePages()
        GDImage.releaseScratchMemory()
    }

    deinit { timer.cancel() }

    /// Brackets one request.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        inFlight.add(1, ordering: .relaxed)
        defer {
            lastFinished.store(Self.nowMilliseconds(), ordering: .relaxed)
            inFlight.subtract(1, ordering: .relaxed)
        }
        return try body()
    }

    private static func nowMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return max(1, now.tv_sec * 1000 + now.tv_nsec / 1_000_000)
    }
}
