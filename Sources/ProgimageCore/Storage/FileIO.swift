#if canImport(Glibc)
import Glibc
#endif

/// The few file operations storage needs, with the durability rules in one place:
/// a file appears at its final path only complete (temp file, fsync, rename), and the
/// rename itself is made durable by an fsync of the directory.
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        let operation: String
        let path: String
        let errno: Int32

        var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
        var isMissing: Bool { errno == ENOENT }
        var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Failure(operation: "stat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        let failure: Int32? = bytes.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return errno }
                if n == 0 { break }
                filled += n
            }
            return nil
        }
        if let failure { throw Failure(operation: "read", path: path, errno: failure) }
        if filled < bytes.count { bytes.removeSubrange(filled...) }
        return bytes
    }

    /// Writes `bytes` to `path` atomically: a temporary file in `temporaryDirectory`
    /// (same filesystem, somewhere nginx never serves from), fsync, rename.
    static func writeAtomically(_ bytes: [UInt8], to path: String, temporaryDirectory: String, durable: Bool) throws(Failure) {
        try makeDirectories(temporaryDirectory)
        try makeDirectories(parent(of: path))
        var template = Array((temporaryDirectory + "/tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure(operation: "mkstemp", path: temporaryDirectory, errno: errno) }
        let temporary = String(cString: template)
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do throws(Failure) {
            fchmod(fd, 0o644)
            var written = 0
            let failure: Int32? = bytes.withUnsafeBytes { buffer in
                while written < buffer.count {
                    let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { return errno }
                    written += n
                }
                return nil
            }
            if let failure { throw Failure(operation: "write", path: temporary, errno: failure) }
            if durable, fsync(fd) != 0 { throw Failure(operation: "fsync", path: temporary, errno: errno) }
            closed = true
            guard close(fd) == 0 else { throw Failure(operation: "close", path: temporary, errno: errno) }
            guard rename(temporary, path) == 0 else { throw Failure(operation: "rename", path: path, errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        if durable { syncDirectory(parent(of: path)) }
    }

    static func makeDirectories(_ path: String) throws(Failure) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, path != "/" else { throw Failure(operation: "mkdir", path: path, errno: errno) }
        try makeDirectories(parent(of: path))
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw Failure(operation: "mkdir", path: path, errno: errno) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func remove(_ path: String) throws(Failure) {
        guard unlink(path) == 0 || errno == ENOENT else { throw Failure(operation: "unlink", path: path, errno: errno) }
    }

    /// Removes a directory tree; missing entries are not an error.
    static func removeTree(_ path: String) {
        for entry in entries(in: path) ?? [] {
            let child = path + "/" + entry.name
            if entry.isDirectory {
                removeTree(child)
            } else {
                unlink(child)
            }
        }
        rmdir(path)
    }

    /// The entries of a directory without `.` and `..`, read in full before the caller
    /// changes the directory; nil (and errno) if it cannot be opened. `isDirectory` is
    /// readdir's `d_type`, not followed through links. The C functions are `opendir` and
    /// `readdir`.
    static func entries(in directory: String) -> [(name: String, isDirectory: Bool)]? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        var entries: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { entries.append((name, entry.pointee.d_type == UInt8(DT_DIR))) }
        }
        return entries
    }

    static func parent(of path: String) -> String {
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
