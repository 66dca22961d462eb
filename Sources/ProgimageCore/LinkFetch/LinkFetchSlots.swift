import Dispatch
public import ProgimageAPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How many link fetches the api instance runs at once, and what a fetch that finds them
/// all taken does. A fetch holds its thread for as long as the remote server takes (up to
/// `PROGIMAGE_FETCH_TIMEOUT_S`), and every thread the api instance has also answers
/// metadata, lists and uploads: with all of them fetching, 40 stalled links held a
/// metadata read for 19.5 s. So there are fewer slots than threads, and a fetch that finds
/// none free waits for one only while some fetch in flight is young (ordinary fetches
/// take milliseconds, and a burst of them queues); when every slot has been held past
/// `stalledAfter`, it is refused at once, so that the requests behind it in the instance's
/// queue are not held up by its wait either.
public final class LinkFetchSlots: Sendable {
    public let capacity: Int
    /// A fetch in flight this long is taken to be stalled on its server.
    static let stalledAfter = 1.0
    /// The longest a fetch waits for a slot.
    static let longestWait = 1.0

    private let free: DispatchSemaphore
    private struct InFlight {
        var next = 0
        var started: [Int: Double] = [:]
    }
    private let inFlight = Mutex(InFlight())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        free = DispatchSemaphore(value: self.capacity)
    }

    /// Runs `fetch` in a slot; `503 instance_unavailable` when none came free.
    public func whileHeld<T>(_ fetch: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        guard free.wait(timeout: .now()) == .success || (!allStalled && free.wait(timeout: .now() + Self.longestWait) == .success)
        else {
            throw ServiceError(
                .instanceUnavailable, "\(capacity) link fetches are in flight, as many as this instance runs at once; retry shortly")
        }
        let token = inFlight.withLock { state in
            defer { state.next += 1 }
            state.started[state.next] = Self.now()
            return state.next
        }
        defer {
            inFlight.withLock { state in _ = state.started.removeValue(forKey: token) }
            free.signal()
        }
        return try fetch()
    }

    private var allStalled: Bool {
        let now = Self.now()
        return inFlight.withLock { state in
            state.started.count >= capacity && state.started.values.allSatisfy { now - $0 >= Self.stalledAfter }
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
