import POSIX
public import ProgimageAPI

/// The moments an original on this disk has no record, though nothing is wrong: an upload
/// between writing its originals and committing their records (or removing them again),
/// and a delete between removing the record and the file. Both hold
/// `{originals}/.in-flight` shared meanwhile (one `flock` each, a microsecond beside the
/// fsync'd write); `progimage-fcgi check` waits once for an exclusive hold before it judges
/// an original without a record, so none in flight is taken for an orphan and a real one is
/// reported at once. It had been a ten-minute grace: an orphan planted a minute before the
/// check was not reported, with the service stopped too.
public struct OriginalsInFlight: Sendable {
    let lockPath: String

    public init(originalsRoot: String) {
        lockPath = originalsRoot + "/.in-flight"
    }

    /// Runs `body` as one of the writes in flight (unlocked if the lock file cannot be
    /// made: the originals folder is then unwritable and `body` fails on its own).
    public func during<T>(_ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        try FileLock.holding(lockPath, .shared) { _ throws(ServiceError) in try body() }
    }

    /// Waits until every write in flight now has finished; false when writes kept
    /// overlapping for `milliseconds` (or the lock cannot be read), and nothing can be
    /// said about an original without a record younger than that.
    func waitForWritesInFlight(milliseconds: Int) -> Bool {
        FileLock.waitForHolders(of: lockPath, milliseconds: milliseconds)
    }
}
