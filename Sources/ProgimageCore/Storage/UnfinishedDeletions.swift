public import ProgimageAPI

/// Deletes whose files may still be on disk. A delete removes the record first (from then
/// on the image is gone for every instance that asks the store) and its files after: an
/// api instance killed between the two had left the original and the derived files where
/// nginx serves them, with no record to find them by, and a retried delete answered 404
/// and removed nothing. The embedded store journals each delete in the transaction that
/// removes its record; the api instance finishes what is journaled when it starts and when
/// a delete finds no record. (Distributed, PostgreSQL's deletion log does this on every
/// box: `DeletionFanOut`.)
public protocol UnfinishedDeletions: Sendable {
    func unfinishedDeletions() throws(ServiceError) -> [(id: ImageID, format: ImageFormat)]
    func deletionFinished(_ id: ImageID) throws(ServiceError)
}

extension UnfinishedDeletions {
    /// Removes the files of every journaled delete, then its entry; an entry whose original
    /// cannot be removed stays for the next time. Returns how many were finished.
    @discardableResult
    public func finishAll(cache: DerivedImageCache, originals: any ImageStore) throws(ServiceError) -> Int {
        var finished = 0
        for (id, format) in try unfinishedDeletions() {
            cache.whileDeleting(id) { cache.removeAll(of: id) }  // as `DeletionFanOut.replay` does
            cache.removeOverlayUsers(of: id)
            guard (try? originals.remove(id: id, format: format)) != nil else { continue }
            try deletionFinished(id)
            finished += 1
        }
        return finished
    }
}
