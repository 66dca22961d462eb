#if canImport(Glibc)
import Glibc
#endif

/// Work for CPU time nobody else wants: a detached thread under `SCHED_IDLE`, which Linux
/// runs on a core with nothing else runnable (and otherwise gives a sliver of time, CFS's
/// lowest weight), so a busy worker's requests barely wait for it. What it runs must not
/// hold a lock a request could need beyond an instant: starved, it would hold it until
/// its next slice. malloc's arena lock is such an instant; a file lock or a database
/// connection is not: hand such work to a thread of normal priority.
public enum IdleThread {
    /// Starts `body` on a new thread; false when no thread could be made (then nothing ran).
    public static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(IdleWork(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        guard pthread_create(&thread, &attributes, idleThreadEntry, context) == 0 else {
            Unmanaged<IdleWork>.fromOpaque(context).release()
            return false
        }
        return true
    }
}

/// `SCHED_IDLE` from <sched.h>, which Glibc's module leaves out (it is behind
/// `__USE_GNU`); the value is the kernel's ABI.
private let schedIdle: Int32 = 5

private final class IdleWork: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

private func idleThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let work = Unmanaged<IdleWork>.fromOpaque(context!).takeRetainedValue()
    var parameters = sched_param(sched_priority: 0)
    // Refused (a seccomp filter, an old kernel), the work still runs, at normal priority.
    _ = pthread_setschedparam(pthread_self(), schedIdle, &parameters)
    work.body()
    return nil
}
