#if canImport(Glibc)
import Glibc
#endif

/// A file a command writes once it has the bytes, opened before it asks for them: a path
/// that cannot be written fails before anything is sent (`progimage get -o` had the service
/// render, cache and, with signing, spend a signed render, then exited 1).
///
/// A regular file, or a new one, is written beside itself and renamed over the path, so that
/// it appears only complete, with the mode the old file had (new: 0666 less the umask).
/// Anything else is written in place: renaming over `/dev/null` had replaced the device with
/// a regular file (as root), and a FIFO or a terminal is meant to be written to. A symbolic
/// link is followed, as `>` follows it.
public final class PreparedOutputFile {
    private let path: String
    private let fd: Int32
    /// The temporary file renamed over `path` at `commit`; nil when written in place.
    private let temporary: String?
    private var finished = false

    public init(path given: String) throws(SystemCallError) {
        var status = stat()
        let exists = stat(given, &status) == 0
        path = exists ? Self.resolved(given) : given
        if exists, (status.st_mode & S_IFMT) == S_IFDIR {
            throw SystemCallError("open", path: given, errno: Errno(rawValue: EISDIR))
        }
        if exists, (status.st_mode & S_IFMT) != S_IFREG {
            fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemCallError("open", path: given) }
            temporary = nil
            return
        }
        // A file the user may not write is not replaced behind its back (the rename would).
        if exists, access(path, W_OK) != 0 { throw SystemCallError("open", path: given) }
        var template = Array((Files.parent(of: path) + "/.progimage-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard made >= 0 else { throw SystemCallError("open", path: given) }
        fd = made
        temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let mode = exists ? status.st_mode & 0o7777 : 0o666 & ~Self.currentUmask()
        fchmod(fd, mode)
    }

    deinit {
        guard !finished else { return }
        close(fd)
        if let temporary { unlink(temporary) }
    }

    /// Writes `bytes` and puts them at the path.
    public func commit(_ bytes: [UInt8]) throws(SystemCallError) {
        finished = true
        do throws(SystemCallError) {
            do {
                try FileDescriptorIO.write(bytes, to: fd)
            } catch {
                throw SystemCallError("write", path: path, errno: error)
            }
            guard close(fd) == 0 else { throw SystemCallError("close", path: path) }
            if let temporary, rename(temporary, path) != 0 { throw SystemCallError("rename", path: path) }
        } catch {
            if let temporary { unlink(temporary) }
            throw error
        }
    }

    /// The umask, which can only be read by setting it (a command's only thread does).
    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    /// What a symbolic link at `path` leads to, for the rename to replace the file and not
    /// the link; `path` itself otherwise.
    private static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}
