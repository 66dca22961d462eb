internal import CProcessControl
#if canImport(Glibc)
import Glibc
#endif

/// `PR_SET_CHILD_SUBREAPER`: orphans among this process's descendants are re-parented to it
/// rather than to init, so a supervisor can find (`ProcessTable.children(of:)`) and stop what a
/// dead child left running (nginx's workers, whose master was killed, kept the port for good).
public enum ChildSubreaper {
    /// False when the kernel refused.
    public static func become() -> Bool {
        cprocess_become_child_subreaper() == 0
    }
}
