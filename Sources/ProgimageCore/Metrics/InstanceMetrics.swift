import POSIX
import Dispatch
import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One instance's request counters, kept in memory and written after each answer (off the
/// request's thread, a burst in one write) to `{cache}/.metrics/{role}-{slot}.json`, where
/// the api instance's exporter reads every instance's. Labelled by role and slot, not pid:
/// an instance that recycles or crashes starts from its file, so its counters never go
/// backwards, and its `restarts` grows by one. Written once a second, a SIGKILL had lost
/// what the instance answered in its last second (1 of 20 answers counted, a probe).
public final class InstanceMetrics: Sendable {
    /// Request duration buckets, in seconds (Prometheus `le`).
    public static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct State: Codable {
        var role: String
        var slot: String
        var restarts: Int = 0
        var requests: [String: Int] = [:]  // status → count
        var durationBuckets: [Int]  // cumulative counts per `buckets`, then +Inf
        var durationSum: Double = 0
        var durationCount: Int = 0
    }

    private let path: String
    private let state: Mutex<(value: State, dirty: Bool)>
    /// A write is queued and has not begun: answers meanwhile ride on it.
    private let writeQueued = Atomic<Bool>(false)
    /// One writer at a time, so that a later snapshot is never replaced by an earlier one.
    private let writer = Mutex(())

    public init(directory: String, role: String, slot: String = "0") {
        path = "\(directory)/\(role)-\(slot).json"
        var loaded = (try? Files.read(path)).flatMap { try? JSONDecoder().decode(State.self, from: Data($0)) }
            ?? State(role: role, slot: slot, durationBuckets: Array(repeating: 0, count: Self.buckets.count + 1))
        if loaded.durationBuckets.count != Self.buckets.count + 1 {
            loaded.durationBuckets = Array(repeating: 0, count: Self.buckets.count + 1)
        }
        if Files.exists(path) { loaded.restarts += 1 }
        state = Mutex((loaded, true))
        try? Files.makeDirectories(directory)
        flush()
    }

    public func record(status: Int, seconds: Double) {
        state.withLock { entry in
            entry.value.requests[String(status), default: 0] += 1
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { entry.value.durationBuckets[index] += 1 }
            entry.value.durationBuckets[Self.buckets.count] += 1
            entry.value.durationSum += seconds
            entry.value.durationCount += 1
            entry.dirty = true
        }
        guard !writeQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            writeQueued.store(false, ordering: .releasing)
            flush()
        }
    }

    /// Writes the counters if they changed (atomically: a reader never sees half a file).
    public func flush() {
        writer.withLock { _ in
            guard let snapshot = state.withLock({ entry -> State? in
                guard entry.dirty else { return nil }
                entry.dirty = false
                return entry.value
            }) else { return }
            guard let data = try? JSONEncoder().encode(snapshot) else { return }
            let directory = Files.parent(of: path)
            try? Files.writeAtomically(Array(data), to: path, temporaryDirectory: directory, durable: false)
        }
    }
}
