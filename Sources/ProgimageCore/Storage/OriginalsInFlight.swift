import POSIX
public import ProgimageAPI

/// The moments an original on this disk has no record, though nothing is wrong: an upload
/// between writing its originals and committing their records (or removing them again),
/// and a delete between removing the record and the file. With the originals on this disk
/// alone (embedded), both hold `{originals}/.in-flight` shared meanwhile (one `flock`
/// each, a microsecond beside the fsync'd write); `progimage-fcgi check` holds it
/// exclusively while it looks again at each original it found without a record, so none
/// in flight is taken for an orphan and a real one is reported at once. It had been a
/// ten-minute grace: an orphan planted a minute before the check was not reported, with
/// the service stopped too. With a bucket, other boxes write too, which no lock here sees:
/// nothing is held, and the check keeps its grace.
public struct OriginalsInFlight: Sendable {
    let lockPath: String
    /// Whether this disk alone holds the originals (embedded): only then are writes tracked.
    public let originalsAreLocal: Bool

    public init(originalsRoot: String, originalsAreLocal: Bool) {
        lockPath = originalsRoot + "/.in-flight"
        self.originalsAreLocal = originalsAreLocal
    }

    /// Runs `body` as one of the writes in flight. A write that cannot hold the lock is
    /// refused: the check would take its original for an orphan and move it away.
    public func during<T>(_ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        guard originalsAreLocal else { return try body() }
        return try FileLock.holding(lockPath, .shared) { fd throws(ServiceError) in
            guard fd != nil else {
                throw ServiceError(.internalError, "cannot hold \(lockPath) shared: the write was not made")
            }
            return try body()
        }
    }

    /// Runs `body` with no write in flight and none starting until it returns; nil when
    /// writes kept overlapping for `milliseconds`, or the lock cannot be read.
    func withNoneInFlight<T>(trying milliseconds: Int, _ body: () throws(ServiceError) -> T) throws(ServiceError) -> T? {
        try FileLock.holdingExclusively(ifPresent: lockPath, trying: milliseconds, body)
    }
}
