public import ProgimageAPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One box's side of a delete made on any box: removes the image's derived files and its
/// local copy here, within a second or two of the delete.
///
/// Woken by `NOTIFY`, and every two seconds regardless, it replays the deletion log from
/// the last entry it applied. At start it replays the whole log (30 days; removing what is
/// already gone costs two failed system calls per entry), so a box that was down, or joins
/// later, catches up, and no bookkeeping file sits beside the copies. It also removes objects whose delete did
/// not reach the bucket (the store was down then) once the deleting box had its chance.
public final class DeletionFanOut: Sendable {
    private let log: any DeletionLog
    private let cache: DerivedImageCache
    private let localCopies: FileImageStore
    private let bucket: BucketImageStore?
    private let applied = Atomic<Int64>(0)
    private let report: @Sendable (String) -> Void
    /// Tombstones are forgotten after this long: a box away longer must start with empty
    /// copies (docs/SCALING.md says so).
    public static let retentionDays = 30

    public init(
        log: any DeletionLog, cache: DerivedImageCache, localCopies: FileImageStore, bucket: BucketImageStore?,
        report: @escaping @Sendable (String) -> Void
    ) {
        self.log = log
        self.cache = cache
        self.localCopies = localCopies
        self.bucket = bucket
        self.report = report
    }

    /// Runs until the process ends.
    public func run() -> Never {
        var listener: (any DeletionListener)?
        var lastCleanup = ContinuousClock.now - .seconds(3600)
        while true {
            if listener == nil { listener = try? log.listener() }
            do {
                try replay()
                try removeObjectsLeftBehind()
                if ContinuousClock.now - lastCleanup > .seconds(3600) {
                    try log.forgetTombstones(olderThanDays: Self.retentionDays)
                    lastCleanup = .now
                }
            } catch {
                report("deletion fan-out: \(error.message)")
            }
            if let current = listener {
                do {
                    _ = try current.waitForDeletion(timeoutMilliseconds: 2000)
                } catch {
                    listener = nil
                    sleep(1)
                }
            } else {
                sleep(1)
            }
        }
    }

    /// What a box does as it starts (`progimage-fcgi replay-deletes`) when the log cannot be
    /// read (the database is down), where its copies are only copies (the originals are in
    /// the bucket): it cannot tell which of its files belong to images deleted while it was away, and nginx
    /// serves whatever is on disk (a box restarted during an outage after missing a delete
    /// served the deleted image for the whole outage; a black-box probe). Its local copies
    /// and derived files go, every one a copy, made again on demand once the database answers.
    public static func removeCopies(
        cache: DerivedImageCache, localCopies: FileImageStore, because reason: String, report: (String) -> Void
    ) {
        report(
            "deletes made while this box was away cannot be read (\(reason)): its local copies and derived files are removed, as any of them may be a deleted image's")
        cache.removeEveryImage()
        localCopies.removeEveryImage()
    }

    /// Applies every tombstone after the last one applied; returns how many it applied.
    @discardableResult
    public func replay() throws(ServiceError) -> Int {
        var count = 0
        while true {
            let batch = try log.tombstones(after: applied.load(ordering: .relaxed), limit: 500)
            for tombstone in batch {
                // Through the image's deletion gate, as a delete on this box removes them: a
                // render here that found the record before it went writes first and its file
                // goes with the rest, or finds it gone and writes nothing. Ungated, a write
                // landing just after the removal stayed, served as a HIT.
                cache.whileDeleting(tombstone.id) { cache.removeAll(of: tombstone.id) }
                cache.removeOverlayUsers(of: tombstone.id)
                try? localCopies.remove(id: tombstone.id, format: tombstone.format)
                applied.store(tombstone.sequence, ordering: .relaxed)
                count += 1
            }
            if batch.count < 500 { return count }
        }
    }

    private func removeObjectsLeftBehind() throws(ServiceError) {
        guard let bucket else { return }
        for tombstone in try log.tombstonesAwaitingObjectRemoval(limit: 100) {
            try bucket.remove(id: tombstone.id, format: tombstone.format)
            try log.markObjectRemoved(tombstone.id)
        }
    }
}
