#if canImport(Glibc)
import Glibc
#endif

/// What Linux's `/proc` tells of other processes. Every answer may be stale by the time it
/// is used (a process ends, a pid is reused); a process that ends while being read is left
/// out or gives nil.
public enum ProcessTable {
    /// The processes whose parent is `parent`, read from `/proc/*/stat`.
    public static func children(of parent: Int32) -> [Int32] {
        guard let entries = Files.entries(in: "/proc") else { return [] }
        var found: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry.name), let stat = try? Files.read("/proc/\(entry.name)/stat") else { continue }
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so the fields
            // are counted after the last ')'.
            guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { continue }
            let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
            if fields.count > 1, Int32(String(decoding: fields[1], as: UTF8.self)) == parent { found.append(pid) }
        }
        return found
    }

    /// The command name (`/proc/{pid}/comm`: the executable's name, cut to 15 bytes).
    public static func command(of pid: Int32) -> String? {
        guard let bytes = try? Files.read("/proc/\(pid)/comm") else { return nil }
        return String(decoding: bytes, as: UTF8.self).filter { $0 != "\n" }
    }

    /// Which signals a process catches and which it ignores (`SigCgt` and `SigIgn` of
    /// `/proc/{pid}/status`).
    public static func signalDispositions(of pid: Int32) -> SignalDispositions? {
        guard let bytes = try? Files.read("/proc/\(pid)/status") else { return nil }
        var caught: UInt64?, ignored: UInt64?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let value = { UInt64(String(line.drop(while: { $0 != ":" }).filter(\.isHexDigit)), radix: 16) }
            if line.hasPrefix("SigCgt:") { caught = value() }
            if line.hasPrefix("SigIgn:") { ignored = value() }
        }
        guard let caught, let ignored else { return nil }
        return SignalDispositions(caught: caught, ignored: ignored)
    }

    /// Two of a process's signal masks, bit n − 1 for signal n, as `/proc` prints them.
    public struct SignalDispositions: Sendable {
        let caught: UInt64
        let ignored: UInt64

        public func catches(_ signal: Int32) -> Bool { Self.contains(caught, signal) }
        public func ignores(_ signal: Int32) -> Bool { Self.contains(ignored, signal) }

        private static func contains(_ mask: UInt64, _ signal: Int32) -> Bool {
            mask & (1 << UInt64(signal - 1)) != 0
        }
    }
}
