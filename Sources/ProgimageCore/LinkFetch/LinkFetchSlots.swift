import Dispatch
public import ProgimageAPI
import Synchronization

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
    /// A fetch in flight this long is taken to be stalled on its server: ordinary fetches
    /// end well within it, and a wrong guess costs one link a 503 only while every slot
    /// has been busy this long.
    static let stalledAfter = Duration.seconds(1)
    /// The longest a fetch waits for a slot, holding its api thread.
    static let longestWait = Duration.seconds(1)

    private let free: DispatchSemaphore
    private struct InFlight {
        var next = 0
        var started: [Int: ContinuousClock.Instant] = [:]
    }
    private let inFlight = Mutex(InFlight())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        free = DispatchSemaphore(value: self.capacity)
    }

    /// Runs `fetch` in a slot; `503 instance_unavailable` when none came free.
    public func whileHeld<T>(_ fetch: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        let wait = DispatchTimeInterval.milliseconds(Int(Self.longestWait / .milliseconds(1)))
        guard free.wait(timeout: .now()) == .success || (!allStalled && free.wait(timeout: .now() + wait) == .success)
        else {
            throw ServiceError(
                .instanceUnavailable, "\(capacity) link fetches are in flight, as many as this instance runs at once; retry shortly")
        }
        let token = inFlight.withLock { state in
            defer { state.next += 1 }
            state.started[state.next] = .now
            return state.next
        }
        defer {
            inFlight.withLock { state in _ = state.started.removeValue(forKey: token) }
            free.signal()
        }
        return try fetch()
    }

    private var allStalled: Bool {
        let now = ContinuousClock.now
        return inFlight.withLock { state in
            state.started.count >= capacity && state.started.values.allSatisfy { now - $0 >= Self.stalledAfter }
        }
    }
}
