import ProgimageAPI

/// Gives the records made before the placeholder fields (`RecordsBeforePlaceholders`) what
/// an upload of their originals records now: BlurHash, alpha, frames, from the same
/// inspection (`ImageIngest.inspect`, holding its decode slots, so uploads keep theirs).
/// The api instance runs it in the background as it starts; a record is done once (its
/// blurhash set), so a restart goes on where the last one stopped. An original that no
/// longer passes (limits lowered since it was uploaded, its bytes gone) keeps its
/// defaults, reported, and is tried again at the next start.
public struct PlaceholderBackfill: Sendable {
    let records: any RecordsBeforePlaceholders
    let originals: any ImageStore
    let ingest: ImageIngest

    public init(records: any RecordsBeforePlaceholders, originals: any ImageStore, ingest: ImageIngest) {
        self.records = records
        self.originals = originals
        self.ingest = ingest
    }

    /// Until no such record is left after the last one looked at; how many were filled
    /// and how many could not be.
    @discardableResult
    public func run(report: (String) -> Void) -> (filled: Int, failed: Int) {
        var (filled, failed) = (0, 0)
        var after: Int64 = 0
        while true {
            let batch: [(sequence: Int64, record: ImageRecord)]
            do {
                batch = try records.recordsWithoutPlaceholders(after: after, limit: 100)
            } catch {
                report("placeholders of records made before them: \(error.message)")
                return (filled, failed)
            }
            guard let last = batch.last else { return (filled, failed) }
            for (_, record) in batch {
                do {
                    let inspected = try ingest.inspect(try originals.read(id: record.id, format: record.format))
                    try records.setPlaceholders(
                        of: record.id, blurhash: inspected.blurhash, hasAlpha: inspected.hasAlpha, frames: inspected.frames)
                    filled += 1
                } catch {
                    failed += 1
                    report("placeholders of \(record.id), made before them, not filled: \(error.message)")
                }
            }
            after = last.sequence
        }
    }
}
