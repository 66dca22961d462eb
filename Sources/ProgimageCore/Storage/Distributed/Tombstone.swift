public import ProgimageAPI

/// One deleted image in the deletion log: every box removes its copies of it.
public struct Tombstone: Sendable, Equatable {
    /// Position in the log; boxes replay it from the last position they applied.
    public let sequence: Int64
    public let id: ImageID
    public let format: ImageFormat
}

/// The shared deletion log (PostgreSQL's `tombstones`, with `NOTIFY` on each entry).
public protocol DeletionLog: Sendable {
    /// Entries after `sequence`, oldest first, at most `limit`.
    func tombstones(after sequence: Int64, limit: Int) throws(ServiceError) -> [Tombstone]
    /// Entries whose object is still in the bucket (its removal failed or has not run).
    func tombstonesAwaitingObjectRemoval(limit: Int) throws(ServiceError) -> [Tombstone]
    func markObjectRemoved(_ id: ImageID) throws(ServiceError)
    /// Logs objects an upload that failed may have left in the bucket (it never recorded
    /// them), for the fan-out to remove once the store answers: removing them in the
    /// request took the store's whole timeout each while it hung.
    func logAbandoned(_ images: [(id: ImageID, format: ImageFormat)]) throws(ServiceError)
    /// Forgets entries older than `days`: a box away for longer must start with empty copies.
    func forgetTombstones(olderThanDays days: Int) throws(ServiceError)
    /// A connection of its own that is told of every new entry.
    func listener() throws(ServiceError) -> any DeletionListener
}

/// Blocks until a deletion is announced or the timeout passes.
public protocol DeletionListener {
    /// True when something was announced (or the connection must be replaced: throws).
    func waitForDeletion(timeoutMilliseconds: Int32) throws(ServiceError) -> Bool
}
