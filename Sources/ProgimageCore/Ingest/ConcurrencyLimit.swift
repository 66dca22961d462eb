import Dispatch

/// At most `slots` callers inside `whileHeld` at once; the rest wait their turn. The api
/// instance runs more threads than cores so that a link ingest waiting on a slow remote
/// server, or a metadata read, is not queued behind it; this keeps what those threads
/// decode (the memory and CPU of a whole image) to one per core all the same.
public final class ConcurrencyLimit: Sendable {
    private let semaphore: DispatchSemaphore

    public init(slots: Int) {
        semaphore = DispatchSemaphore(value: max(1, slots))
    }

    public func whileHeld<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        semaphore.wait()
        defer { semaphore.signal() }
        return try body()
    }
}
