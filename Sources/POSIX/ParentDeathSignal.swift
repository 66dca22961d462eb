internal import CProcessControl
#if canImport(Glibc)
import Glibc
#endif

/// `PR_SET_PDEATHSIG`: a signal the kernel sends this process when its parent ends. It is
/// kept across `execve` (but for set-user-ID programs), so a process can arm it and then
/// become another program.
public enum ParentDeathSignal {
    /// Arms `signal`, then checks the parent is still `parent`: one that ended before the
    /// call would never send it. False when arming failed or the parent is gone.
    public static func arm(_ signal: Int32, parent: Int32) -> Bool {
        cprocess_set_parent_death_signal(signal) == 0 && getppid() == parent
    }
}
