import ProgimageAPI
import ProgimageCore

/// `GET /images/{id}` and `DELETE /images/{id}`.
struct ImageResourceHandler {
    let context: ServiceContext

    func metadata(of id: ImageID) throws(ServiceError) -> HTTPResponse {
        guard let record = try context.metadata.record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        return .json(200, record.json)
    }

    /// The row goes first (the id stops existing at once; with PostgreSQL, with a tombstone
    /// every box replays), then this box's derived files, then the original, so no URL of
    /// the id can answer 200 afterwards. With a bucket, an object whose delete fails (the
    /// store is down) stays in the deletion log, and a box's fan-out removes it later.
    func delete(_ id: ImageID, request: HTTPRequest) throws(ServiceError) -> HTTPResponse {
        try context.keys.authorizeWrite(authorization: request.headers["authorization"])
        guard let record = try context.metadata.record(id) else {
            // A delete cut short after its record went (`UnfinishedDeletions`): the retry
            // removes what the first attempt left.
            _ = try? context.unfinishedDeletions?.finishAll(cache: context.cache, originals: context.originals)
            throw ServiceError(.notFound, "no image with id \(id)")
        }
        // A delete is a write: with the object store down it is refused, the image left
        // whole (the contract's 503 within the store's timeout), not half done with its
        // object left for later.
        if let bucket = context.bucketOriginals, !bucket.isAvailable {
            throw ServiceError(.storageUnavailable, "the object store cannot be reached: the image was not deleted")
        }
        // From the record's removal to the original's, the original has no record:
        // `progimage-fcgi check` waits for this before judging it.
        try context.originalsInFlight.during { () throws(ServiceError) in
            // No render of the image writes a file between the two (`whileNotDeleting`).
            try context.cache.whileDeleting(id) { () throws(ServiceError) in
                guard try deleteRecord(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
                context.cache.removeAll(of: id)
            }
            context.cache.removeOverlayUsers(of: id)
            if let bucket = context.bucketOriginals {
                bucket.removeLocalCopy(id: id, format: record.format)
                if (try? bucket.remove(id: id, format: record.format)) != nil { try? context.deletionLog?.markObjectRemoved(id) }
            } else {
                try context.originals.remove(id: id, format: record.format)
                try? context.unfinishedDeletions?.deletionFinished(id)
            }
        }
        // What a full disk's delete gave back, kept again now that the original is gone.
        context.spaceReserve?.ensure()
        return HTTPResponse(status: 204, headers: [("Cache-Control", "no-store")])
    }

    /// The record's removal; on a full data disk, again with the reserve given back: SQLite
    /// writes its journal to remove a row, and every delete had answered 507, so the disk
    /// could not be freed through the service.
    private func deleteRecord(_ id: ImageID) throws(ServiceError) -> Bool {
        do {
            return try context.metadata.delete(id)
        } catch where error.code == .insufficientStorage {
            guard let reserve = context.spaceReserve, reserve.release() else { throw error }
            return try context.metadata.delete(id)
        }
    }
}
