import Dispatch
import Foundation
import ProgimageAPI
import Synchronization
import Testing

@testable import ProgimageCore

/// `LinkFetchSlots` with fetches that are threads blocked until the test lets them end.
/// The unit tests run in parallel on a busy machine, so no expectation rests on a short
/// window: a clock that must not run out is long (10 s), and "at once" is told from a wait
/// of that clock by a bound far below it.
@Suite struct LinkFetchSlotsTests {
    /// A fetch in flight on a thread of its own, ended by `finish()`.
    final class HeldFetch: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)

        init(_ slots: LinkFetchSlots) {
            Thread.detachNewThread { [self] in
                try? slots.whileHeld { () throws(ServiceError) in
                    started.signal()
                    done.wait()
                }
                ended.signal()
            }
            started.wait()
        }

        func finish() {
            done.signal()
            ended.wait()
        }
    }

    static let long = Duration.seconds(10)
    static let atOnce = Duration.seconds(4)

    static func slots(capacity: Int, waiting: Int, stalledAfter: Duration = long, longestWait: Duration = long) -> LinkFetchSlots {
        LinkFetchSlots(
            capacity: capacity, waitingCapacity: waiting, stalledAfter: stalledAfter, longestWait: longestWait,
            recheckEvery: .milliseconds(20))
    }

    /// How long `whileHeld` took to answer, and whether it ran its fetch.
    static func timedFetch(_ slots: LinkFetchSlots) -> (Duration, ran: Bool) {
        let clock = ContinuousClock()
        var ran = false
        let elapsed = clock.measure { ran = (try? slots.whileHeld { () throws(ServiceError) in true }) ?? false }
        return (elapsed, ran)
    }

    /// Runs `body` on a thread of its own; the returned semaphore is signalled after it.
    static func onAThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done
    }

    static func untilWaiting(_ count: Int, in slots: LinkFetchSlots) {
        while slots.waitingCount < count { Thread.sleep(forTimeInterval: 0.005) }
    }

    @Test func aFreeSlotIsTakenAtOnce() {
        let slots = Self.slots(capacity: 2, waiting: 0)
        let held = HeldFetch(slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(ran && elapsed < Self.atOnce)
        held.finish()
    }

    @Test func aWaiterGetsTheSlotAYoungFetchLeaves() {
        let slots = Self.slots(capacity: 1, waiting: 1)
        let held = HeldFetch(slots)
        let finished = Self.onAThread {
            Self.untilWaiting(1, in: slots)
            held.finish()
        }
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(ran && elapsed < Self.atOnce)
        finished.wait()
    }

    /// More waiters than allowed would hold threads kept for metadata: the next is refused
    /// at once, while the allowed waiter still gets its slot.
    @Test func waitersBeyondTheCapacityAreRefusedAtOnce() {
        let slots = Self.slots(capacity: 1, waiting: 1)
        let held = HeldFetch(slots)
        let waiterRan = Mutex(false)
        let waiterDone = Self.onAThread { waiterRan.withLock { $0 = Self.timedFetch(slots).ran } }
        Self.untilWaiting(1, in: slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran && elapsed < Self.atOnce)
        held.finish()
        waiterDone.wait()
        #expect(waiterRan.withLock { $0 })
    }

    /// A waiter is refused once every fetch in flight has stalled (300 ms here), not at the
    /// end of its longest wait (10 s): one look before the whole wait had a waiter that came
    /// while a fetch was young hold its thread to the end.
    @Test func aWaiterGivesUpWhenEveryFetchHasStalled() {
        let slots = Self.slots(capacity: 1, waiting: 4, stalledAfter: .milliseconds(300))
        let held = HeldFetch(slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran && elapsed < Self.atOnce, "\(elapsed)")
        // Then further links are refused without waiting at all.
        let (again, ranAgain) = Self.timedFetch(slots)
        #expect(!ranAgain && again < Self.atOnce)
        held.finish()
        #expect(Self.timedFetch(slots).ran)
    }

    @Test func aWaiterWaitsNoLongerThanItsLongestWait() {
        let slots = Self.slots(capacity: 1, waiting: 1, longestWait: .milliseconds(300))
        let held = HeldFetch(slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran && elapsed >= .milliseconds(280) && elapsed < Self.atOnce, "\(elapsed)")
        held.finish()
    }
}
