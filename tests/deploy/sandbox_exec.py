"""Applies the sandboxing settings of a unit that the kernel offers without systemd as
PID 1, then execs the command: `python3 sandbox_exec.py SPEC_JSON -- COMMAND...`.

What it can reproduce, and how:
  ProcSubset=pid, ProtectProc=invisible  a mount namespace with /proc mounted subset=pid,hidepid=invisible
  PrivateNetwork=yes                     a new network namespace
  InaccessiblePaths=                     in a mount namespace, an empty read-only tmpfs of
                                         mode 0000 over each path that exists ("-" prefix)
  User=, Group=, UMask=                  setgroups/setgid/setuid, umask
  NoNewPrivileges=yes                    PR_SET_NO_NEW_PRIVS
  MemoryDenyWriteExecute=yes             PR_SET_MDWE (Linux >= 6.3; same rule: no W+X mapping,
                                         no mapping made executable later)
  SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=native,
  RestrictAddressFamilies=               one seccomp filter through libseccomp
The rest (ProtectSystem=, PrivateTmp=, PrivateDevices=, PrivateUsers=, RestrictNamespaces=,
LockPersonality=, RestrictRealtime=, RestrictSUIDSGID=, the capability bounding set...)
needs systemd; `systemd-analyze security` checks that they are set. A step the environment forbids
(a container without CAP_SYS_ADMIN cannot mount /proc) is reported, not fatal, and the
test prints the report. The file-descriptor set (fd 0 or LISTEN_FDS) passes through exec.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 0x4000, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ = 4


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def main() -> None:
    spec = json.loads(sys.argv[1])
    assert sys.argv[2] == "--"
    command = sys.argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    applied, skipped = [], []

    def attempt(name: str, ok: bool) -> None:
        (applied if ok else skipped).append(name if ok else f"{name} ({os.strerror(ctypes.get_errno())})")

    mounts = None  # the mount namespace, made on first need

    def own_mounts() -> bool:
        nonlocal mounts
        if mounts is None:
            mounts = libc.unshare(CLONE_NEWNS) == 0 and libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0
        return mounts

    if spec.get("proc_subset_pid"):
        ok = own_mounts() and libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                         b"subset=pid,hidepid=invisible") == 0
        attempt("ProcSubset=pid", ok)
    hidden = [path.lstrip("-") for path in spec.get("inaccessible_paths") or []]
    if hidden:
        ok = own_mounts() and all(
            libc.mount(b"inaccessible", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       b"mode=0000") == 0
            for path in hidden if os.path.exists(path))
        attempt("InaccessiblePaths", ok)
    if spec.get("private_network"):
        attempt("PrivateNetwork", libc.unshare(CLONE_NEWNET) == 0)

    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    applied.append("User/Group")
    os.umask(spec["umask"])
    applied.append("UMask")
    if spec.get("no_new_privileges"):
        attempt("NoNewPrivileges", libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    if spec.get("memory_deny_write_execute"):
        attempt("MemoryDenyWriteExecute", libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == 0)
    if spec.get("syscalls") is not None:
        attempt("SystemCallFilter+RestrictAddressFamilies", load_seccomp(spec))

    if spec.get("report"):
        with open(spec["report"], "a") as report:
            report.write(json.dumps({"name": spec.get("name"), "applied": applied, "skipped": skipped}) + "\n")
    os.execv(command[0], command)


def load_seccomp(spec: dict) -> bool:
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.c_void_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(0x00050000 | spec["syscall_errno"])  # SCMP_ACT_ERRNO
    if not ctx:
        return False
    families = spec.get("address_families")
    for name in spec["syscalls"]:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number == -1 or (name == "socket" and families is not None):
            continue  # not a system call of this architecture; socket() is conditional below
        lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, number, 0, None)
    if families is not None and "socket" in spec["syscalls"]:
        number = lib.seccomp_syscall_resolve_name(b"socket")
        for family in families:
            compare = ArgCmp(0, SCMP_CMP_EQ, family, 0)
            lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, number, 1, ctypes.byref(compare))
    return lib.seccomp_load(ctx) == 0


if __name__ == "__main__":
    main()
