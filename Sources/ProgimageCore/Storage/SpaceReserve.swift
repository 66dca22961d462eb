import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A megabyte kept aside on the data disk, so that a delete can still run when the disk is
/// full: SQLite must write its journal to remove a row, and with no byte left every
/// `DELETE` answered `507` — the one request that frees space could not run, and the
/// service could not recover without an operator (a black-box probe on an 8 MB tmpfs).
/// The file is given back when a delete meets a full disk, and made again once there is
/// room (after that delete, at the api instance's start, and before every upload, which is
/// `507` while it cannot be made: an upload must not take the room a delete gave back).
public struct SpaceReserve: Sendable {
    public let path: String
    public static let bytes = 1 << 20

    public init(dataDirectory: String) {
        path = dataDirectory + "/.space-reserve"
    }

    /// Makes the reserve if it is missing and the disk has the room; whether it is there.
    @discardableResult
    public func ensure() -> Bool {
        var status = stat()
        if stat(path, &status) == 0, Int(status.st_blocks) * 512 >= Self.bytes { return true }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        // Blocks allocated, not a sparse promise: posix_fallocate fails with ENOSPC.
        let failed = posix_fallocate(fd, 0, off_t(Self.bytes)) != 0
        close(fd)
        if failed { unlink(path) }
        return !failed
    }

    /// Gives the space back; whether there was any to give.
    @discardableResult
    public func release() -> Bool {
        unlink(path) == 0
    }
}
