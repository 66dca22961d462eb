import Dispatch

/// Writes a request must make but need not wait for, run one at a time after it has been
/// answered. The worker waits for them before it exits (a stop or a recycle), so none is
/// cut off by the process's end.
///
/// What it is for: an upload the object store cut off logs its objects for the deletion
/// fan-out; with the database hung as well as the store, that write's own 5-s bound came
/// on top of the store's, and the `503` took `PROGIMAGE_S3_TIMEOUT_S` + 5.02 s where the
/// contract allows + 5 (a black-box probe, 8 of 8 tries).
public final class WorkAfterAnswers: Sendable {
    private let queue = DispatchQueue(label: "progimage.work-after-answers")
    private let group = DispatchGroup()

    public init() {}

    func run(_ work: @escaping @Sendable () -> Void) {
        queue.async(group: group, execute: work)
    }

    /// Waits until every write handed in so far has run, at most `seconds`.
    public func finish(withinSeconds seconds: Int) {
        _ = group.wait(timeout: .now() + .seconds(seconds))
    }
}
