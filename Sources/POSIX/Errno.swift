#if canImport(Glibc)
import Glibc
#endif

/// A POSIX error number, typed: what a failed system call left in `errno`.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno` now: read it before anything else can call into libc.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let diskQuotaExceeded = Errno(rawValue: EDQUOT)

    /// `strerror`'s text.
    public var description: String {
        guard let message = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: message)
    }
}

/// A system call that failed: which, on what, and why.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Errno

    public init(_ call: String, path: String, errno: Errno = .current) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The filesystem (or the quota) is full.
    public var isNoSpace: Bool { errno == .noSpace || errno == .diskQuotaExceeded }
    public var isMissing: Bool { errno == .noSuchFileOrDirectory }

    public var description: String { "\(call)(\(path)) failed: \(errno)" }
}
