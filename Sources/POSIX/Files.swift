#if canImport(Glibc)
import Glibc
#endif

/// The file operations the service and its development supervisor need, on Glibc directly
/// (no Foundation in this package), with the durability rules in one place: a file
/// appears at its final path only complete (temporary file, fsync, rename), and the rename
/// itself is made durable by an fsync of the directory.
public enum Files {
    /// A whole file.
    public static func read(_ path: String) throws(SystemCallError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", path: path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SystemCallError("stat", path: path) }
        do {
            // Sized once from the file (an original can be 50 MB); /proc files say 0.
            return try FileDescriptorIO.readAll(fd, expected: Int(status.st_size))
        } catch {
            throw SystemCallError("read", path: path, errno: error)
        }
    }

    /// The last `limit` bytes of a file, or "" if it cannot be read.
    public static func tail(of path: String, limit: Int) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        _ = lseek(fd, max(0, size - off_t(limit)), SEEK_SET)
        return String(decoding: (try? FileDescriptorIO.readAll(fd)) ?? [], as: UTF8.self)
    }

    /// Replaces `path` with `bytes`, in place (not atomically: for files nobody reads
    /// while they are written, such as a generated configuration).
    public static func write(_ bytes: [UInt8], to path: String) throws(SystemCallError) {
        try write(bytes, to: path, flags: O_TRUNC)
    }

    /// Appends `bytes` with one `write` on an `O_APPEND` descriptor: atomic against other
    /// appenders for a short line.
    public static func append(_ bytes: [UInt8], to path: String) throws(SystemCallError) {
        try write(bytes, to: path, flags: O_APPEND)
    }

    private static func write(_ bytes: [UInt8], to path: String, flags: Int32) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644)
        guard fd >= 0 else { throw SystemCallError("open", path: path) }
        defer { close(fd) }
        do {
            try FileDescriptorIO.write(bytes, to: fd)
        } catch {
            throw SystemCallError("write", path: path, errno: error)
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary file in `temporaryDirectory`
    /// (same filesystem, somewhere readers never look), fsync when `durable`, rename. The
    /// temporary file's name carries the writer's process id (`removeLeftovers`) unless
    /// `temporaryName` gives another beginning; the file gets `mode`, and, given one,
    /// `modificationTime` (seconds since the epoch) as its mtime.
    public static func writeAtomically(
        _ bytes: [UInt8], to path: String, temporaryDirectory: String, durable: Bool, mode: UInt32 = 0o644,
        temporaryName: String? = nil, modificationTime: Int? = nil
    ) throws(SystemCallError) {
        try makeDirectories(temporaryDirectory)
        try makeDirectories(parent(of: path))
        var template = Array((temporaryDirectory + "/" + (temporaryName ?? "tmp-\(getpid())-") + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemCallError("mkstemp", path: temporaryDirectory) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do throws(SystemCallError) {
            fchmod(fd, mode)
            do {
                try FileDescriptorIO.write(bytes, to: fd)
            } catch {
                throw SystemCallError("write", path: temporary, errno: error)
            }
            if let modificationTime {
                // The access time now, as the write would have left it (eviction reads it).
                let now = (1 << 30) - 1  // UTIME_NOW, which Glibc's header defines as an expression Swift does not import
                var times = [timespec(tv_sec: 0, tv_nsec: now), timespec(tv_sec: modificationTime, tv_nsec: 0)]
                guard futimens(fd, &times) == 0 else { throw SystemCallError("futimens", path: temporary) }
            }
            if durable, fsync(fd) != 0 { throw SystemCallError("fsync", path: temporary) }
            closed = true
            guard close(fd) == 0 else { throw SystemCallError("close", path: temporary) }
            guard rename(temporary, path) == 0 else { throw SystemCallError("rename", path: path) }
        } catch {
            unlink(temporary)
            throw error
        }
        if durable { syncDirectory(parent(of: path)) }
    }

    /// `mkdir -p`: every missing component, mode 0755 before the umask. Fails if the path
    /// exists and is not a directory, and with ENOENT if the directory vanished (renamed or
    /// removed by another process) as it was made: the caller knows what that means (a
    /// derived image's folder moved away by its delete), where a "not a directory" had been
    /// answered 500 (1 of 360 renders racing a delete, in a CI run).
    public static func makeDirectories(_ path: String) throws(SystemCallError) {
        if mkdir(path, 0o755) != 0 {
            let failure = Errno.current
            switch failure {
            case .fileExists:
                var status = stat()
                guard stat(path, &status) == 0 else { throw SystemCallError("stat", path: path) }
                guard status.st_mode & S_IFMT == S_IFDIR else { throw SystemCallError("mkdir", path: path, errno: .notDirectory) }
            case .noSuchFileOrDirectory where path != "/" && path != ".":
                try makeDirectories(parent(of: path))
                if mkdir(path, 0o755) != 0, errno != EEXIST { throw SystemCallError("mkdir", path: path) }
            default:
                throw SystemCallError("mkdir", path: path, errno: failure)
            }
        }
    }

    /// A fresh private directory from a `mkdtemp` template such as `/tmp/progimage-XXXXXX`.
    public static func makeTemporaryDirectory(template: String) throws(SystemCallError) -> String {
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw SystemCallError("mkdtemp", path: template) }
        return bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Which file `path` names (following links), or nil when it names none: compared
    /// with a later one, whether the name still leads to the file opened then.
    public static func identity(of path: String) -> FileIdentity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// A file's device and inode numbers.
    public struct FileIdentity: Sendable, Equatable {
        public let device: UInt64
        public let inode: UInt64
    }

    /// Whether `path` is a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// `path`'s modification time in whole seconds since the epoch (following links), nil
    /// when it cannot be read.
    public static func modificationTime(of path: String) -> Int? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int(status.st_mtim.tv_sec)
    }

    /// Sets `path`'s modification time (and its access time) to `seconds` since the epoch.
    public static func setModificationTime(of path: String, toSeconds seconds: Int) throws(SystemCallError) {
        try setTimes(of: path, access: timespec(tv_sec: seconds, tv_nsec: 0), modification: timespec(tv_sec: seconds, tv_nsec: 0))
    }

    /// Sets `path`'s access time (not through a symbolic link), leaving its modification
    /// time as it is; the change time moves to now, as for any change of the inode.
    public static func setAccessTime(of path: String, seconds: Int, nanoseconds: Int) throws(SystemCallError) {
        let omit = (1 << 30) - 2  // UTIME_OMIT, which Glibc's header defines as an expression Swift does not import
        try setTimes(
            of: path, access: timespec(tv_sec: seconds, tv_nsec: nanoseconds), modification: timespec(tv_sec: 0, tv_nsec: omit),
            flags: AT_SYMLINK_NOFOLLOW)
    }

    private static func setTimes(of path: String, access: timespec, modification: timespec, flags: Int32 = 0) throws(SystemCallError) {
        var times = [access, modification]
        guard utimensat(AT_FDCWD, path, &times, flags) == 0 else { throw SystemCallError("utimensat", path: path) }
    }

    /// Moves `path` into `directory` (on the same file system) under `name`, or `name.1`,
    /// `name.2`, … when that is taken: never over another file (`link` refuses an existing
    /// name, where `rename` replaces it; Glibc's `renameat2` is not visible to Swift).
    /// Returns where it went; nil when `path` was already gone.
    public static func move(_ path: String, into directory: String, as name: String) throws(SystemCallError) -> String? {
        var target = "\(directory)/\(name)"
        for suffix in 1... {
            if link(path, target) == 0 {
                guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("unlink", path: path) }
                return target
            }
            switch errno {
            case ENOENT: return nil
            case EEXIST: target = "\(directory)/\(name).\(suffix)"
            default: throw SystemCallError("link", path: path)
            }
        }
        return nil
    }

    /// Removes a file or socket; a missing one is fine.
    public static func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("unlink", path: path) }
    }

    /// Removes the temporary files of `writeAtomically` in `temporaryDirectory` whose
    /// writer is no longer running: what a process killed mid-write left (nothing else
    /// removes them, and nothing reads them). Returns how many were removed.
    @discardableResult
    public static func removeLeftovers(in temporaryDirectory: String) -> Int {
        var removed = 0
        for entry in entries(in: temporaryDirectory) ?? [] where isWrittenNow(temporaryFile: entry.name) == false {
            if unlink(temporaryDirectory + "/" + entry.name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Whether the `writeAtomically` temporary file `name` (`tmp-{pid}-XXXXXX`) has a
    /// writer still running (a process of another user counts as running); nil for a
    /// name of another shape, which no writer here makes.
    public static func isWrittenNow(temporaryFile name: String) -> Bool? {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[0] == "tmp", let pid = pid_t(parts[1]), pid > 0 else { return nil }
        return kill(pid, 0) == 0 || errno != ESRCH
    }

    /// `rm -rf`; missing entries are not an error. Never follows symlinks (`lstat`), so
    /// it cannot leave the tree.
    public static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            for entry in entries(in: path) ?? [] { removeTree(path + "/" + entry.name) }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }

    /// One name in a directory; `isDirectory` is readdir's `d_type`, not followed through
    /// links.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let isDirectory: Bool
    }

    /// The entries of a directory without `.` and `..`, read in full before the caller
    /// changes the directory; nil if it cannot be opened.
    public static func entries(in directory: String) -> [Entry]? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        var entries: [Entry] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." {
                entries.append(Entry(name: name, isDirectory: entry.pointee.d_type == UInt8(DT_DIR)))
            }
        }
        return entries
    }

    /// The directory part of a path (`.` for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
