#if canImport(Glibc)
import Glibc
#endif

/// A file a command writes once it has the bytes, checked before it asks for them: a path
/// that cannot be written fails before anything is sent (`progimage get -o` had the service
/// render, cache and, with signing, spend a signed render, then exited 1).
///
/// What the shell's `>` would write, without a half-written file in between:
/// - a regular file, or a new one, is written to a temporary file beside it (made at
///   `commit`, so an interrupted command leaves none), synced and renamed over the path,
///   with the old file's permissions (a new one: 0666 less the umask); where its folder
///   cannot take a temporary file but the file itself is writable, it is written in place;
/// - anything else (a device, a FIFO, a terminal) is opened now and written in place:
///   renaming over `/dev/null` had replaced the device with a regular file (as root);
/// - `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` are that descriptor,
///   whatever it leads to (a file opened for appending stays appended to);
/// - a symbolic link is followed, dangling or not.
public final class PreparedOutputFile {
    private enum Target {
        case replacing(path: String, mode: mode_t, exists: Bool)
        case inPlace(fd: Int32)
    }

    private let target: Target
    private let shownPath: String

    public init(path given: String) throws(SystemCallError) {
        shownPath = given
        guard !given.isEmpty else { throw SystemCallError("open", path: given, errno: .noSuchFileOrDirectory) }
        if let inherited = Self.descriptorAlias(given) {
            let fd = dup(inherited)
            guard fd >= 0 else { throw SystemCallError("dup", path: given) }
            target = .inPlace(fd: fd)
            return
        }
        let path = Self.followingLinks(given)
        var status = stat()
        guard stat(path, &status) == 0 else {
            // A new file: its folder must take it.
            guard Errno.current == .noSuchFileOrDirectory, access(Files.parent(of: path), W_OK | X_OK) == 0 else {
                throw SystemCallError("open", path: given)
            }
            target = .replacing(path: path, mode: 0o666 & ~Self.currentUmask(), exists: false)
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            throw SystemCallError("open", path: given, errno: Errno(rawValue: EISDIR))
        case S_IFREG:
            guard access(path, W_OK) == 0 else { throw SystemCallError("open", path: given) }
            target = .replacing(path: path, mode: status.st_mode & 0o777, exists: true)
        default:
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemCallError("open", path: given) }
            target = .inPlace(fd: fd)
        }
    }

    deinit {
        if case .inPlace(let fd) = target, fd >= 0 { close(fd) }
    }

    /// Writes `bytes` and puts them at the path.
    public func commit(_ bytes: [UInt8]) throws(SystemCallError) {
        switch target {
        case .inPlace(let fd):
            try Self.write(bytes, to: fd, path: shownPath)
        case .replacing(let path, let mode, let exists):
            do {
                try Files.writeAtomically(
                    bytes, to: path, temporaryDirectory: Files.parent(of: path), durable: true, mode: mode,
                    temporaryName: ".progimage-")
            } catch where error.call == "mkstemp" && exists && error.errno.rawValue == EACCES {
                // A writable file in a folder that is not (a sticky /tmp, a shared folder).
                let inPlace = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
                guard inPlace >= 0 else { throw SystemCallError("open", path: shownPath) }
                try Self.write(bytes, to: inPlace, path: shownPath, closing: true)
            }
        }
    }

    /// Writes all of `bytes` in place; with `closing`, closes `fd` whatever happens.
    private static func write(_ bytes: [UInt8], to fd: Int32, path: String, closing: Bool = false) throws(SystemCallError) {
        var failure: SystemCallError?
        do {
            try FileDescriptorIO.write(bytes, to: fd)
        } catch {
            failure = SystemCallError("write", path: path, errno: error)
        }
        if closing, close(fd) != 0, failure == nil { failure = SystemCallError("close", path: path) }
        if let failure { throw failure }
    }

    /// The descriptor a path names by number, as `>` to it writes that descriptor.
    private static func descriptorAlias(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        case "/dev/stdin": return 0
        default: break
        }
        for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
            let number = path.dropFirst(prefix.count)
            if !number.isEmpty, number.count < 10, number.allSatisfy({ $0.isASCII && $0.isNumber }) { return Int32(number) }
        }
        return nil
    }

    /// The path after every symbolic link on it, dangling ones too (`>` creates a dangling
    /// link's target); the path itself when it is none, or the links loop.
    private static func followingLinks(_ path: String) -> String {
        var current = path
        for _ in 0..<40 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = buffer.withUnsafeMutableBufferPointer { readlink(current, $0.baseAddress!, Int(PATH_MAX)) }
            guard count > 0 else { return current }
            let link = buffer.withUnsafeBufferPointer { String(decoding: $0.prefix(count).map(UInt8.init(bitPattern:)), as: UTF8.self) }
            current = link.hasPrefix("/") ? link : Files.parent(of: current) + "/" + link
        }
        return path
    }

    /// The umask, from `/proc/self/status` (setting it to read it would race the command's
    /// other threads); 022 where that cannot be read.
    private static func currentUmask() -> mode_t {
        let status = String(decoding: (try? Files.read("/proc/self/status")) ?? [], as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
            if let mask = mode_t(line.dropFirst("Umask:".count).trimmingPrefixWhitespace(), radix: 8) { return mask }
        }
        return 0o022
    }
}

private extension Substring {
    func trimmingPrefixWhitespace() -> Substring { drop { $0 == " " || $0 == "\t" } }
}
