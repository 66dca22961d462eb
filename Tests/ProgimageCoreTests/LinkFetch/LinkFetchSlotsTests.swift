import Dispatch
import Foundation
import ProgimageAPI
import Synchronization
import Testing

@testable import ProgimageCore

/// `LinkFetchSlots` with short clocks (a fetch is stalled after 300 ms, a waiter waits up to
/// 1 s): fetches are threads blocked on a semaphore until the test lets them end.
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

    static func slots(capacity: Int, waiting: Int) -> LinkFetchSlots {
        LinkFetchSlots(
            capacity: capacity, waitingCapacity: waiting, stalledAfter: .milliseconds(300), longestWait: .seconds(1),
            recheckEvery: .milliseconds(20))
    }

    /// How long `whileHeld` took to answer, and whether it ran its fetch.
    static func timedFetch(_ slots: LinkFetchSlots) -> (Duration, ran: Bool) {
        let clock = ContinuousClock()
        var ran = false
        let elapsed = clock.measure { ran = (try? slots.whileHeld { () throws(ServiceError) in true }) ?? false }
        return (elapsed, ran)
    }

    @Test func aFreeSlotIsTakenAtOnce() {
        let slots = Self.slots(capacity: 2, waiting: 0)
        let held = HeldFetch(slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(ran && elapsed < .milliseconds(500))
        held.finish()
    }

    @Test func aWaiterGetsTheSlotAYoungFetchLeaves() {
        let slots = Self.slots(capacity: 1, waiting: 1)
        let held = HeldFetch(slots)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { held.finish() }
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(ran && elapsed < .milliseconds(800))
    }

    /// More waiters than allowed would hold threads kept for metadata: the next is refused
    /// at once, while the allowed waiter still gets its slot.
    @Test func waitersBeyondTheCapacityAreRefusedAtOnce() {
        let slots = Self.slots(capacity: 1, waiting: 1)
        let held = HeldFetch(slots)
        let waiterDone = DispatchSemaphore(value: 0)
        let waiterRan = Mutex(false)
        Thread.detachNewThread {
            let (_, ran) = Self.timedFetch(slots)
            waiterRan.withLock { $0 = ran }
            waiterDone.signal()
        }
        Thread.sleep(forTimeInterval: 0.05)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran && elapsed < .milliseconds(500))
        held.finish()
        waiterDone.wait()
        #expect(waiterRan.withLock { $0 })
    }

    /// A waiter that came while the fetch was young is refused as soon as the fetch has
    /// stalled (300 ms here), not at the end of its longest wait (1 s): one look before the
    /// whole wait had it hold its thread ~0.9 s longer.
    @Test func aWaiterGivesUpWhenEveryFetchHasStalled() {
        let slots = Self.slots(capacity: 1, waiting: 4)
        let held = HeldFetch(slots)
        Thread.sleep(forTimeInterval: 0.1)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran)
        #expect(elapsed > .milliseconds(120) && elapsed < .milliseconds(750), "\(elapsed)")
        // Then further links are refused without waiting at all.
        let (again, ranAgain) = Self.timedFetch(slots)
        #expect(!ranAgain && again < .milliseconds(500))
        held.finish()
        #expect(Self.timedFetch(slots).ran)
    }

    @Test func aWaiterWaitsNoLongerThanItsLongestWait() {
        let slots = LinkFetchSlots(
            capacity: 1, waitingCapacity: 1, stalledAfter: .seconds(10), longestWait: .milliseconds(300),
            recheckEvery: .milliseconds(20))
        let held = HeldFetch(slots)
        let (elapsed, ran) = Self.timedFetch(slots)
        #expect(!ran && elapsed >= .milliseconds(280) && elapsed < .milliseconds(900), "\(elapsed)")
        held.finish()
    }
}
