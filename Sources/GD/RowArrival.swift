import Dispatch
import Synchronization

/// How many rows of an image another thread has finished, top to bottom, and a wait for
/// more: what lets a filter start on the top of a picture while its bottom still decodes.
/// One waiter at a time.
final class RowArrival: Sendable {
    private struct State {
        var rows = 0
        var ended = false
        var waitingFor: Int?
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Producer: the first `rows` rows are complete. Never goes back: two producers that
    /// publish out of order (the thumbnail's bands, finished by either thread) leave the
    /// larger count.
    func publish(rows: Int) {
        let wake = state.withLock { state in
            state.rows = max(state.rows, rows)
            guard let wanted = state.waitingFor, state.rows >= wanted else { return false }
            state.waitingFor = nil
            return true
        }
        if wake { wakeUp.signal() }
    }

    /// Producer: no more rows will come, whether or not they all did.
    func end() {
        let wake = state.withLock { state in
            state.ended = true
            defer { state.waitingFor = nil }
            return state.waitingFor != nil
        }
        if wake { wakeUp.signal() }
    }

    /// How many rows are complete now.
    var rowsReady: Int { state.withLock { $0.rows } }

    /// Waits until the first `rows` rows are complete; false when they never will be.
    func wait(forRows rows: Int) -> Bool {
        let mustWait = state.withLock { state in
            guard state.rows < rows, !state.ended else { return false }
            precondition(state.waitingFor == nil, "RowArrival has one waiter at a time")
            state.waitingFor = rows
            return true
        }
        if mustWait { wakeUp.wait() }
        return state.withLock { $0.rows >= rows }
    }
}
