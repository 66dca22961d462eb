public import ProgimageAPI

#if canImport(Glibc)
import Glibc
#endif

/// One box's side of a delete made on any box: removes the image's derived files and its
/// local copy here, within a second or two of the delete.
///
/// Woken by `NOTIFY`, and every two seconds regardless, it replays the deletion log from
/// the last entry this box applied (kept in a file beside the local copies), so a box that
/// was down, or joins later, catches up at start. It also removes objects whose delete did
/// not reach the bucket (the store was down then) once the deleting box had its chance.
public final class DeletionFanOut: Sendable {
    private let log: any DeletionLog
    private let cache: DerivedImageCache
    private let localCopies: FileImageStore
    private let bucket: BucketImageStore?
    private let watermarkPath: String
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
        self.watermarkPath = localCopies.root + "/.tombstones-applied"
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

    /// Applies every tombstone after the watermark, then moves the watermark.
    public func replay() throws(ServiceError) {
        var applied = readWatermark()
        while true {
            let batch = try log.tombstones(after: applied, limit: 500)
            for tombstone in batch {
                cache.removeAll(of: tombstone.id)
                try? localCopies.remove(id: tombstone.id, format: tombstone.format)
                applied = tombstone.sequence
            }
            if !batch.isEmpty { writeWatermark(applied) }
            if batch.count < 500 { return }
        }
    }

    private func removeObjectsLeftBehind() throws(ServiceError) {
        guard let bucket else { return }
        for tombstone in try log.tombstonesAwaitingObjectRemoval(limit: 100) {
            try bucket.remove(id: tombstone.id, format: tombstone.format)
            try log.markObjectRemoved(tombstone.id)
        }
    }

    private func readWatermark() -> Int64 {
        guard let bytes = try? FileIO.read(watermarkPath) else { return 0 }
        return Int64(String(decoding: bytes, as: UTF8.self).filter(\.isNumber)) ?? 0
    }

    private func writeWatermark(_ sequence: Int64) {
        try? FileIO.writeAtomically(
            Array("\(sequence)\n".utf8), to: watermarkPath, temporaryDirectory: localCopies.root + "/.tmp", durable: false)
    }
}
