import Dispatch
public import ProgimageAPI
import Synchronization

/// How many link fetches the api instance runs at once, how many more may wait for one,
/// and when a waiting fetch gives up. A fetch holds its thread for as long as the remote
/// server takes (up to `PROGIMAGE_FETCH_TIMEOUT_S`), and a fetch waiting for a slot holds
/// its thread too, while every thread the api instance has also answers metadata, lists
/// and uploads: with all of them fetching, 40 stalled links held a metadata read for
/// 19.5 s.
///
/// So fetches get `capacity` slots and at most `waitingCapacity` waiters, together fewer
/// than the instance's threads (`ServiceConfiguration.apiThreads`): the rest never touch a
/// link for longer than it takes to refuse one. A waiter waits only while some fetch in
/// flight is young (ordinary fetches take milliseconds, and a burst of them queues), looking
/// again every `recheckEvery`: once every slot has been held past `stalledAfter` it is
/// refused (`503`), so that it does not sit out a second behind fetches that will not end.
/// With one look before a 1 s wait, waiters that came while the last fetch was young held
/// the two spare threads past the moment every fetch had stalled, and a metadata read
/// behind them took 2.5 s (a fresh-clone CI run, 2026-12-06).
public final class LinkFetchSlots: Sendable {
    public let capacity: Int
    public let waitingCapacity: Int
    /// A fetch in flight this long is taken to be stalled on its server: ordinary fetches
    /// end well within it, and a wrong guess costs one link a 503 only while every slot
    /// has been busy this long.
    let stalledAfter: Duration
    /// The longest a fetch waits for a slot, holding its api thread.
    let longestWait: Duration
    /// How often a waiter looks whether every fetch in flight has stalled.
    let recheckEvery: Duration

    private let free: DispatchSemaphore
    private struct State {
        var next = 0
        var started: [Int: ContinuousClock.Instant] = [:]
        var waiting = 0
    }
    private let state = Mutex(State())

    public init(
        capacity: Int, waitingCapacity: Int, stalledAfter: Duration = .seconds(1), longestWait: Duration = .seconds(1),
        recheckEvery: Duration = .milliseconds(50)
    ) {
        self.capacity = max(1, capacity)
        self.waitingCapacity = max(0, waitingCapacity)
        self.stalledAfter = stalledAfter
        self.longestWait = longestWait
        self.recheckEvery = recheckEvery
        free = DispatchSemaphore(value: self.capacity)
    }

    /// Runs `fetch` in a slot; `503 instance_unavailable` when none came free.
    public func whileHeld<T>(_ fetch: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        guard free.wait(timeout: .now()) == .success || waitForSlot() else {
            throw ServiceError(
                .instanceUnavailable, "\(capacity) link fetches are in flight, as many as this instance runs at once; retry shortly")
        }
        let token = state.withLock { state in
            defer { state.next += 1 }
            state.started[state.next] = .now
            return state.next
        }
        defer {
            state.withLock { state in _ = state.started.removeValue(forKey: token) }
            free.signal()
        }
        return try fetch()
    }

    /// Waits as one of at most `waitingCapacity` waiters, until a slot is free (true), every
    /// fetch in flight has stalled or `longestWait` has passed (false).
    private func waitForSlot() -> Bool {
        let admitted = state.withLock { state in
            guard state.waiting < waitingCapacity else { return false }
            state.waiting += 1
            return true
        }
        guard admitted else { return false }
        defer { state.withLock { $0.waiting -= 1 } }
        let deadline = ContinuousClock.now + longestWait
        while !allStalled {
            let left = deadline - .now
            guard left > .zero else { return false }
            let step = Self.dispatchInterval(min(left, recheckEvery))
            if free.wait(timeout: .now() + step) == .success { return true }
        }
        return false
    }

    /// Fetches waiting for a slot now.
    var waitingCount: Int { state.withLock { $0.waiting } }

    private var allStalled: Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.started.count >= capacity && state.started.values.allSatisfy { now - $0 >= stalledAfter }
        }
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}
