#if canImport(Glibc)
import Glibc
#endif

/// The few file operations the supervisor needs, on Glibc directly (no Foundation in
/// this package), each failing with the path and `errno`.
enum FileSystem {
    /// `mkdir -p`: every missing component, mode 0755 before the umask.
    static func createDirectories(_ path: String) throws(SupervisorError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .systemCall("mkdir", path: prefix, errno: errno)
            }
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw .systemCall("mkdir", path: path, errno: ENOTDIR)
        }
    }

    /// A fresh private directory from a `mkdtemp` template such as `/tmp/progimage-XXXXXX`.
    static func createTemporaryDirectory(template: String) throws(SupervisorError) -> String {
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw .systemCall("mkdtemp", path: template, errno: errno) }
        return String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Replaces `path` with `text` (written in full before returning).
    static func write(_ text: String, to path: String) throws(SupervisorError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .systemCall("open", path: path, errno: errno) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .systemCall("write", path: path, errno: errno)
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// The last `limit` bytes of a file, or "" if it cannot be read (used to show nginx's
    /// error log before the run directory holding it is removed).
    static func tail(of path: String, limit: Int) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        _ = lseek(fd, max(0, size - off_t(limit)), SEEK_SET)
        return String(decoding: readAll(fd), as: UTF8.self)
    }

    /// Reads a descriptor to end of file.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return result }
            result += chunk[..<count]
        }
    }

    /// Removes a file or socket; a missing one is fine.
    static func removeFile(_ path: String) {
        _ = unlink(path)
    }

    /// `rm -rf`, for the run directory the supervisor created itself and nothing else.
    /// Never follows symlinks (`lstat`), so it cannot leave the tree.
    static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if status.st_mode & S_IFMT == S_IFDIR {
            for name in entries(of: path) { removeTree(path + "/" + name) }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }

    /// Names in a directory, without "." and "..".
    private static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
