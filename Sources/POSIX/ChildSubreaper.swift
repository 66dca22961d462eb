internal import CProcessControl
#if canImport(Glibc)
import Glibc
#endif

/// `PR_SET_CHILD_SUBREAPER`: orphans among this process's descendants are re-parented to it
/// rather than to init, so a supervisor can find and stop what a dead child left running
/// (nginx's workers, whose master was killed, kept the port for good).
public enum ChildSubreaper {
    /// False when the kernel refused.
    public static func become() -> Bool {
        cprocess_become_child_subreaper() == 0
    }

    /// The processes whose parent is `parent`, read from `/proc/*/stat`. A process that
    /// ends while being read is left out.
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
}
