"""The installed service, started exactly as its units say, behind the installed
production nginx site: upload → convert → transform → HIT → prune → delete.

Nothing here runs systemd; each unit is read (template, drop-ins, specifiers) and done by
hand. Every path is moved under a private root: %S → ROOT/var/lib, %C → ROOT/var/cache,
/run/progimage → ROOT/run/progimage, in the units and in the site alike.
- Sockets as progimage@.socket makes them (mode, group, Backlog). The api role gets its
  socket on fd 0 (StandardInput=socket) from a bound socket the test holds and restarts
  it as Restart= says, so a recycled worker comes back on the same queue; every other
  role is started by `systemd-socket-activate -l SOCK -E ...` (LISTEN_FDS, fd 3).
- The environment is Environment= plus the installed EnvironmentFile, with this test's
  settings added to a copy, and an administrator's drop-in for the api role.
- The sandbox the kernel offers without systemd (sandbox_exec.py): the unit's user
  (nobody, in group www-data, standing in for progimage whose group nginx's www-data
  joins), UMask, NoNewPrivileges, MemoryDenyWriteExecute, PrivateNetwork, ProcSubset, and
  SystemCallFilter/RestrictAddressFamilies as one seccomp filter.
- nginx runs the installed site as Debian's nginx.conf includes it, as user www-data.
"""

from __future__ import annotations

import errno
import grp
import io
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from PIL import Image

from deploytools import SANDBOX_REPORTS, make, private_directory
from unitfile import Unit, allowed_syscalls

API_KEY = "deploy-test-key"
FD0_ROLE = "api"
RECYCLE_REQUESTS = 5
SERVICE_USER, SERVICE_GROUP, NGINX_USER = "nobody", "www-data", "www-data"
SANDBOX_EXEC = Path(__file__).with_name("sandbox_exec.py")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|min)?", value).groups()
    return float(number) * {"ms": 0.001, "s": 1, None: 1, "min": 60}[unit]


class Instance:
    """One role's worker: started, and restarted when its unit says so."""

    def __init__(self, deployment: "Deployment", role: str):
        self.deployment = deployment
        self.role = role
        self.service = deployment.unit(f"progimage@{role}.service")
        self.socket_unit = deployment.unit(f"progimage@{role}.socket")
        # ListenStream= moved under the private root, as the site's upstreams are.
        self.socket_path = str(deployment.root / self.socket_unit.get("Socket", "ListenStream").lstrip("/"))
        self.listener: socket.socket | None = None
        self.log = open(deployment.root / f"logs/{role}.log", "ab")
        self.exits: list[int] = []
        self.starts = 0
        self.stopping = False
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.thread: threading.Thread | None = None

    def command(self) -> list[str]:
        return self.deployment.sandboxed(self.service, f"progimage@{self.role}.service")

    def start_on_fd0(self) -> None:
        """StandardInput=socket: the socket is bound once and outlives every worker."""
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(int(self.socket_unit.get("Socket", "Backlog", "128")))
        self.deployment.apply_socket_permissions(self.socket_unit, self.socket_path)
        self.listener = listener
        restart = self.service.get("Service", "Restart", "no")
        prevent = {int(code) for code in self.service.words("Service", "RestartPreventExitStatus")}
        delay = seconds(self.service.get("Service", "RestartSec", "100ms"))

        def supervise():
            while True:
                with self.lock:  # stop() never misses a worker started while it stops
                    if self.stopping:
                        return
                    self.starts += 1
                    self.process = subprocess.Popen(
                        self.command(), stdin=listener.fileno(), stdout=self.log, stderr=self.log,
                        env={"PATH": PATH, **self.service.environment()}, start_new_session=True)
                code = self.process.wait()
                self.exits.append(code)
                if self.stopping or restart == "no" or code in prevent:
                    return
                assert restart == "always", f"emulating Restart={restart} is not implemented"
                time.sleep(delay)

        self.thread = threading.Thread(target=supervise, daemon=True)
        self.thread.start()

    def start_with_listen_fds(self) -> None:
        """Socket activation as `systemd-socket-activate` does it: LISTEN_FDS=1, fd 3."""
        env = self.service.environment()
        passed = [arg for name in sorted(env) for arg in ("-E", name)]
        self.starts += 1
        self.process = subprocess.Popen(
            ["systemd-socket-activate", "-l", self.socket_path, *passed, *self.command()],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env={"PATH": PATH, **env},
            start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket_path):
            assert self.process.poll() is None and time.monotonic() < deadline, self.log_tail()
            time.sleep(0.02)
        self.deployment.apply_socket_permissions(self.socket_unit, self.socket_path)

    def stop(self) -> int | None:
        """SIGTERM, as `systemctl stop`; the worker's exit status."""
        with self.lock:
            self.stopping = True
            process = self.process
        if process is None:
            return None
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        if self.thread:
            self.thread.join(timeout=10)
        if self.listener:
            self.listener.close()
        self.log.close()
        return code

    def log_tail(self, lines: int = 30) -> str:
        text = (self.deployment.root / f"logs/{self.role}.log").read_bytes().decode(errors="replace")
        return f"--- {self.role} log ---\n" + "\n".join(text.splitlines()[-lines:])


class Deployment:
    """The installed tree, run from a private root."""

    def __init__(self, installed):
        self.installed = installed
        self.root = private_directory("progimage-deploy-")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.uid = pwd.getpwnam(SERVICE_USER).pw_uid
        self.gid = grp.getgrnam(SERVICE_GROUP).gr_gid
        self.report = self.root / "logs/sandbox.jsonl"
        for d in ("logs", "nginx", "run/progimage", "etc/progimage",
                  "etc/systemd/system/progimage@api.service.d", "etc/nginx/sites-enabled"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "logs", 0o777)
        # The administrator's configuration: the installed env file with keys and threads
        # set, and a drop-in making the api role recycle itself often.
        env_file = self.root / "etc/progimage/progimage.env"
        # (The generated signing key is switched off: these tests fetch unsigned URLs.)
        env_file.write_text(installed.env_file.read_text()
                            + f"PROGIMAGE_API_KEY={API_KEY}\nPROGIMAGE_THREADS=2\n"
                            + "PROGIMAGE_FETCH_ALLOW_HOSTS=127.0.0.1\nPROGIMAGE_SIGNING_KEY=\n")
        (self.root / "etc/systemd/system/progimage@api.service.d/recycle.conf").write_text(
            f"[Service]\nEnvironment=PROGIMAGE_RECYCLE_REQUESTS={RECYCLE_REQUESTS}\n")
        self.instances: dict[str, Instance] = {}
        self.nginx: subprocess.Popen | None = None

    def unit(self, name: str) -> Unit:
        return Unit(name, [self.installed.unit_dir, self.root / "etc/systemd/system"], self.root)

    def executable(self, unit: Unit) -> list[str]:
        argv = unit.get("Service", "ExecStart").split()
        return [str(self.installed.root / argv[0].lstrip("/")), *argv[1:]]

    def sandboxed(self, unit: Unit, name: str) -> list[str]:
        families = unit.words("Service", "RestrictAddressFamilies")
        spec = {
            "name": name, "uid": self.uid, "gid": self.gid, "report": str(self.report),
            "umask": int(unit.get("Service", "UMask", "0022"), 8),
            "no_new_privileges": unit.flag("Service", "NoNewPrivileges"),
            "memory_deny_write_execute": unit.flag("Service", "MemoryDenyWriteExecute"),
            "private_network": unit.flag("Service", "PrivateNetwork"),
            "proc_subset_pid": unit.get("Service", "ProcSubset") == "pid",
            "inaccessible_paths": unit.words("Service", "InaccessiblePaths"),
            "syscalls": sorted(allowed_syscalls(unit) or []) or None,
            "syscall_errno": getattr(errno, unit.get("Service", "SystemCallErrorNumber", "EPERM")),
            "address_families": None if not families else
            [] if families == ["none"] else [getattr(socket, f) for f in families],
        }
        return [sys.executable, str(SANDBOX_EXEC), json.dumps(spec), "--", *self.executable(unit)]

    def make_directories(self, unit: Unit) -> None:
        """StateDirectory= and CacheDirectory=, owned by the service's user."""
        for kind, base in (("StateDirectory", "var/lib"), ("CacheDirectory", "var/cache")):
            for name in unit.words("Service", kind):
                path = self.root / base / name
                path.mkdir(parents=True, exist_ok=True)
                os.chown(path, self.uid, self.gid)
                path.chmod(int(unit.get("Service", f"{kind}Mode", "0755"), 8))

    @staticmethod
    def apply_socket_permissions(socket_unit: Unit, path: str) -> None:
        user = socket_unit.get("Socket", "SocketUser", "root")
        group = socket_unit.get("Socket", "SocketGroup", "root")
        os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        os.chmod(path, int(socket_unit.get("Socket", "SocketMode", "0666"), 8))

    def site(self) -> str:
        """The installed production site with its four deployment-specific tokens moved."""
        text = self.installed.site.read_text()
        moves = {
            "listen 80;": f"listen 127.0.0.1:{self.port};",
            "/var/lib/progimage": f"{self.root}/var/lib/progimage",
            "/var/cache/progimage": f"{self.root}/var/cache/progimage",
            "unix:/run/progimage/": f"unix:{self.root}/run/progimage/",
        }
        for token in moves:
            assert token in text, f"the production site no longer contains {token!r}"
        return re.sub("|".join(re.escape(t) for t in moves), lambda m: moves[m.group(0)], text)

    def start(self) -> None:
        roles = self.installed.roles()
        for role in roles:
            self.make_directories(self.unit(f"progimage@{role}.service"))
        for role in roles:
            instance = Instance(self, role)
            self.instances[role] = instance
            if role == FD0_ROLE:
                instance.start_on_fd0()
            else:
                instance.start_with_listen_fds()
        self.start_nginx()
        self.wait_healthy(roles)

    def start_nginx(self) -> None:
        site = self.root / "etc/nginx/sites-enabled/progimage"
        site.write_text(self.site())
        n = self.root / "nginx"
        conf = n / "nginx.conf"
        conf.write_text(f"""daemon off;
user {NGINX_USER};
worker_processes 2;
pid {n}/nginx.pid;
error_log {n}/error.log warn;
events {{ worker_connections 512; }}
http {{
    # As Debian's /etc/nginx/nginx.conf, which includes sites-enabled/* inside http {{}}.
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {n}/access.log;
    client_body_temp_path {n}/body;
    fastcgi_temp_path {n}/fastcgi;
    proxy_temp_path {n}/proxy;
    uwsgi_temp_path {n}/uwsgi;
    scgi_temp_path {n}/scgi;
    include {site};
}}
""")
        self.nginx = subprocess.Popen(["nginx", "-p", str(n), "-c", str(conf), "-e", str(n / "error.log")],
                                      stdout=subprocess.DEVNULL, stderr=open(n / "stderr.log", "wb"),
                                      start_new_session=True)

    def wait_healthy(self, roles: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = list(roles)
        while pending:
            assert self.nginx.poll() is None, f"nginx exited: {(self.root / 'nginx/stderr.log').read_text()}"
            still = []
            for role in pending:
                try:
                    if requests.get(f"{self.base_url}/health/{role}", timeout=5).status_code != 200:
                        still.append(role)
                except requests.RequestException:
                    still.append(role)
            pending = still
            if pending and time.monotonic() > deadline:
                pytest.fail(f"not healthy after {timeout}s: {pending}\n"
                            + "\n".join(self.instances[r].log_tail() for r in pending), pytrace=False)
            time.sleep(0.2)

    def stop(self) -> list[str]:
        problems = []
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                problems.append("nginx did not stop")
        for role, instance in self.instances.items():
            code = instance.stop()
            if code not in (0, None):
                problems.append(f"{role} exited {code} on SIGTERM\n{instance.log_tail()}")
        return problems

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base_url + path, timeout=120, allow_redirects=False, **kw)

    def reproduced(self, unit_name: str) -> set[str]:
        """The sandbox settings sandbox_exec.py could apply to that unit here."""
        applied = set()
        for line in self.report.read_text().splitlines():
            entry = json.loads(line)
            if entry["name"] == unit_name:
                applied |= set(entry["applied"])
        return applied

    def logs(self) -> str:
        return "\n".join(i.log_tail(15) for i in self.instances.values())


@pytest.fixture(scope="module")
def deployment(installed):
    d = Deployment(installed)
    try:
        d.start()
        yield d
    finally:
        problems = d.stop()
        if d.report.exists():
            for line in d.report.read_text().splitlines():
                entry = json.loads(line)
                summary = f"{entry['name']}: {', '.join(entry['applied'])}"
                if entry["skipped"]:
                    summary += f"; not possible here: {', '.join(entry['skipped'])}"
                if summary not in SANDBOX_REPORTS:
                    SANDBOX_REPORTS.append(summary)
        if not problems and not os.environ.get("PROGIMAGE_TEST_KEEP"):
            shutil.rmtree(d.root, ignore_errors=True)
    assert not problems, "\n".join(problems)


def png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(width):
        for y in range(height):
            image.putpixel((x, y), (x * 255 // width, y * 255 // height, 128))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def decode(response: requests.Response) -> Image.Image:
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def upload(deployment: Deployment, data: bytes, key: str | None = API_KEY) -> requests.Response:
    headers = {"Content-Type": "image/png"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.post(deployment.base_url + "/images", data=data, headers=headers, timeout=120)


def miss_then_hit(deployment: Deployment, path: str, role: str) -> Image.Image:
    first = deployment.get(path)
    assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:300]}\n{deployment.logs()}"
    assert first.headers.get("X-Cache") == "MISS" and first.headers.get("X-Progimage-Instance") == role, path
    second = deployment.get(path)
    assert second.status_code == 200 and second.headers.get("X-Cache") == "HIT", path
    assert second.content == first.content and second.headers["ETag"] == first.headers["ETag"], path
    return decode(second)


def test_every_role_answers_through_nginx(deployment):
    for role in deployment.installed.roles():
        r = deployment.get(f"/health/{role}")
        assert r.status_code == 200 and r.headers.get("X-Progimage-Instance") == role, role


def test_the_environment_file_is_read(deployment):
    r = upload(deployment, png(8, 8), key=None)
    assert r.status_code == 401, r.text


def test_upload_convert_transform_hit_delete(deployment):
    r = upload(deployment, png(120, 80))
    assert r.status_code == 201, r.text
    image = r.json()
    iid = image["id"]

    original = deployment.get(f"/images/{iid}.png")
    assert original.status_code == 200 and original.headers.get("X-Cache") == "HIT"
    assert decode(original).size == (120, 80)

    assert miss_then_hit(deployment, f"/images/{iid}.webp", "convert").size == (120, 80)
    assert miss_then_hit(deployment, f"/images/{iid}/resize:60x.jpg", "resize").size == (60, 40)
    assert miss_then_hit(deployment, f"/images/{iid}/crop:0,0,50,30/rotate:90.png", "rotate").size == (30, 50)

    cache = deployment.root / "var/cache/progimage"
    made = [p for p in cache.rglob("*") if p.is_file() and iid in str(p)]
    assert len(made) == 3, made
    for path in made:  # the service's user's, readable by nginx through the group only
        status = path.stat()
        assert (status.st_uid, status.st_gid) == (deployment.uid, deployment.gid), path
        assert status.st_mode & 0o040 and path.parent.stat().st_mode & 0o050 == 0o050, path
        assert path.parent.stat().st_mode & 0o007 == 0, f"{path.parent} is open to every user (UMask)"

    deleted = requests.delete(f"{deployment.base_url}/images/{iid}", timeout=60,
                              headers={"Authorization": f"Bearer {API_KEY}"})
    assert deleted.status_code == 204, deleted.text
    for path in (f"/images/{iid}", f"/images/{iid}.png", f"/images/{iid}.webp", f"/images/{iid}/resize:60x.jpg"):
        assert deployment.get(path).status_code == 404, path
    assert not [p for p in cache.rglob("*") if p.is_file() and iid in str(p)]


def test_link_ingest_reaches_the_network_from_the_api_sandbox(deployment):
    """Only the api role may open IP sockets (its drop-in, network.conf): a fetch from a
    loopback site, allowed by PROGIMAGE_FETCH_ALLOW_HOSTS, works inside its filter."""
    body = png(30, 20)

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = requests.post(deployment.base_url + "/images", timeout=60,
                          json={"url": f"http://127.0.0.1:{server.server_address[1]}/remote.png"},
                          headers={"Authorization": f"Bearer {API_KEY}"})
    finally:
        server.shutdown()
        server.server_close()
    assert r.status_code == 201, f"{r.status_code} {r.text[:300]}\n{deployment.instances['api'].log_tail()}"
    assert (r.json()["width"], r.json()["height"]) == (30, 20)


def test_every_role_renders_inside_its_sandbox(deployment):
    """Each transform role once, and the AVIF and HEIC encoders (x265, aom) with
    MemoryDenyWriteExecute and the system call filter in force."""
    iid = upload(deployment, png(64, 48)).json()["id"]
    logo = upload(deployment, png(8, 8)).json()["id"]
    cases = {
        "resize": ("resize:32x24", (32, 24)), "crop": ("crop:0,0,10,10", (10, 10)),
        "rotate": ("rotate:90", (48, 64)), "flip": ("flip:h", (64, 48)), "grayscale": ("grayscale", (64, 48)),
        "blur": ("blur:1.5", (64, 48)), "sharpen": ("sharpen:20", (64, 48)), "pad": ("pad:2,2,2,2", (68, 52)),
        "overlay": (f"overlay:{logo}", (64, 48)),
    }
    # Every transform role of the installed site (api and convert are exercised elsewhere).
    assert set(cases) == set(deployment.installed.roles()) - {"api", "convert"}, deployment.installed.roles()
    for role, (op, size) in cases.items():
        assert miss_then_hit(deployment, f"/images/{iid}/{op}.png", role).size == size, role
    for ext in ("avif", "heic"):
        pytest.importorskip("pillow_heif").register_heif_opener()
        r = deployment.get(f"/images/{iid}.{ext}")
        assert r.status_code == 200 and r.headers.get("X-Progimage-Instance") == "convert", ext
        assert r.content[4:8] == b"ftyp", ext


def test_prune_as_the_timer_runs_it(deployment):
    """progimage-prune.service with its environment and sandbox, budget 0: every derived
    file goes, originals stay, and a pruned URL is simply made again."""
    iid = upload(deployment, png(40, 40)).json()["id"]
    miss_then_hit(deployment, f"/images/{iid}/flip:v.png", "flip")
    unit = deployment.unit("progimage-prune.service")
    env = unit.environment()
    assert env["PROGIMAGE_CACHE_DIR"] == str(deployment.root / "var/cache/progimage")
    originals = {p for p in (deployment.root / "var/lib/progimage").rglob("*") if p.is_file()}
    # A pass never removes a file used in the last 5 s (nginx may be about to send it),
    # counted in whole seconds.
    time.sleep(7)

    result = subprocess.run(deployment.sandboxed(unit, "progimage-prune.service") + ["--max-bytes", "0"],
                            env={"PATH": PATH, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "cache pruned" in result.stderr and "removed_files=" in result.stderr, result.stderr
    cache = deployment.root / "var/cache/progimage"
    # Lock files and the overlay-use records (which derived files composite which image, so
    # that its delete finds them) are bookkeeping, not derived files; an earlier test here
    # rendered an overlay.
    bookkeeping = {".locks", ".overlays"}
    assert not [p for p in cache.rglob("*") if p.is_file() and not bookkeeping & set(p.parts)], "derived files left"
    assert {p for p in (deployment.root / "var/lib/progimage").rglob("*") if p.is_file()} >= originals
    assert deployment.get(f"/images/{iid}.png").status_code == 200
    miss_then_hit(deployment, f"/images/{iid}/flip:v.png", "flip")


def test_prune_keeps_a_distributed_boxs_local_copies_under_budget(deployment):
    """In the distributed mode the originals on a box are copies, and prune keeps them
    under PROGIMAGE_LOCAL_COPIES_MAX_BYTES. The unit hides the data directory from itself
    (on one box originals are precious): without `make install-distributed`'s drop-in it
    could not reach them and failed every hour; with it, it walks them and asks the bucket
    for each one the budget would evict. No store answers here, so every copy may be the
    only one, and all stay (a copy whose object was lost had been pruned with the rest)."""
    box = private_directory("progimage-box-")
    try:
        dropins = box / "dropins"
        make("install-distributed", f"DESTDIR={dropins}", "STORE_ADDRESSES=127.0.0.1")
        (box / "etc/progimage").mkdir(parents=True)
        shutil.copy(deployment.root / "etc/progimage/progimage.env", box / "etc/progimage/progimage.env")
        copies = box / "var/lib/progimage/originals"
        copies.mkdir(parents=True)
        (box / "var/cache/progimage").mkdir(parents=True)
        for n in range(3):
            (copies / f"{n:032x}.png").write_bytes(png(20 + n, 20))
        for path in [box / "var/lib/progimage", box / "var/cache/progimage", *copies.rglob("*"), copies]:
            os.chown(path, deployment.uid, deployment.gid)
        distributed = {"PROGIMAGE_DATABASE_URL": "postgresql://progimage@127.0.0.1:5432/progimage",
                       "PROGIMAGE_S3_ENDPOINT": "http://127.0.0.1:8333", "PROGIMAGE_S3_BUCKET": "progimage-originals",
                       "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret",
                       "PROGIMAGE_LOCAL_COPIES_MAX_BYTES": "0"}

        def prune(unit_dirs: list[Path]) -> subprocess.CompletedProcess:
            unit = Unit("progimage-prune.service", unit_dirs, box)
            env = {"PATH": PATH, **unit.environment(), **distributed}
            return subprocess.run(deployment.sandboxed(unit, "progimage-prune.service"), env=env,
                                  capture_output=True, text=True, timeout=120)

        hidden = prune([deployment.installed.unit_dir])
        assert "InaccessiblePaths" in deployment.reproduced("progimage-prune.service"), hidden.stderr
        assert hidden.returncode == 1 and "cannot prune" in hidden.stderr, hidden.stderr
        assert len(list(copies.glob("*.png"))) == 3

        allowed = prune([deployment.installed.unit_dir, dropins / "etc/systemd/system"])
        assert allowed.returncode == 0, allowed.stderr
        [line] = [line for line in allowed.stderr.splitlines() if "local copies pruned" in line]
        assert " files=3 " in line and " kept_files=3 " in line, allowed.stderr
        assert len(list(copies.glob("*.png"))) == 3
    finally:
        shutil.rmtree(box, ignore_errors=True)


def test_replay_deletes_as_the_boot_runs_it(deployment):
    """progimage-replay-deletes.service with its environment and sandbox. On one box it
    changes nothing. On a distributed box whose database cannot be reached (here: its
    private network has no route to it) the local copies and derived files go before nginx
    serves them, as any may belong to an image deleted while the box was away."""
    iid = upload(deployment, png(40, 40)).json()["id"]
    miss_then_hit(deployment, f"/images/{iid}/flip:h.png", "flip")
    unit = deployment.unit("progimage-replay-deletes.service")
    command = deployment.sandboxed(unit, "progimage-replay-deletes.service")
    data, cache = deployment.root / "var/lib/progimage", deployment.root / "var/cache/progimage"

    def files(root: Path) -> set[Path]:
        return {p for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts}

    before = files(data) | files(cache)
    one_box = subprocess.run(command, env={"PATH": PATH, **unit.environment()}, capture_output=True, text=True,
                             timeout=120)
    assert one_box.returncode == 0 and "one box" in one_box.stderr, one_box.stderr
    assert files(data) | files(cache) == before

    # The same files as a distributed box's copies.
    box = deployment.root / "var/lib/box-b"
    shutil.copytree(data, box / "data", symlinks=True)
    shutil.copytree(cache, box / "cache", symlinks=True)
    for path in [box, *box.rglob("*")]:
        os.chown(path, deployment.uid, deployment.gid, follow_symlinks=False)
    copies = [p for p in files(box / "data") if iid in p.name] + [p for p in files(box / "cache") if iid in str(p)]
    assert len(copies) >= 2, copies
    env = {**unit.environment(), "PROGIMAGE_DATA_DIR": str(box / "data"), "PROGIMAGE_CACHE_DIR": str(box / "cache"),
           "PROGIMAGE_DATABASE_URL": "postgresql://progimage@127.0.0.1:5432/progimage",
           "PROGIMAGE_S3_ENDPOINT": "http://127.0.0.1:8333", "PROGIMAGE_S3_BUCKET": "progimage-originals",
           "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}
    distributed = subprocess.run(command, env={"PATH": PATH, **env}, capture_output=True, text=True, timeout=120)
    assert distributed.returncode == 1, distributed.stderr
    assert "local copies and derived files are removed" in distributed.stderr, distributed.stderr
    assert not [p for p in copies if p.exists()], distributed.stderr
    assert files(data) | files(cache) >= before  # the deployment's own, untouched


def test_a_recycled_worker_is_restarted_on_the_same_socket(deployment):
    """The api worker exits 0 after PROGIMAGE_RECYCLE_REQUESTS (the drop-in); Restart=always
    brings it back and the held socket loses no request."""
    api = deployment.instances[FD0_ROLE]
    starts = api.starts
    for _ in range(4 * RECYCLE_REQUESTS):
        r = deployment.get("/images?limit=1")
        assert r.status_code == 200, f"{r.status_code} {r.text[:200]}\n{api.log_tail()}"
    assert api.starts >= starts + 3, api.log_tail()
    assert set(api.exits) == {0}, api.exits


def test_workers_run_confined(deployment):
    """What the kernel reports for each running worker: the service's user, no new
    privileges, a seccomp filter, and its own network namespace unless it is the api."""
    binary = os.path.realpath(deployment.installed.binary)
    own_network = os.readlink("/proc/self/ns/net")
    seen = set()
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/exe") != binary:
                continue
            environ = dict(item.split("=", 1) for item in
                           Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in item)
            status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if ":\t" in line)
            network = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            continue  # gone (a worker recycling right now), or not ours to look at
        if not environ.get("PROGIMAGE_CACHE_DIR", "").startswith(str(deployment.root)):
            continue  # another test run's
        role = environ["TRANSFORM_TYPE"]
        seen.add(role)
        assert status["Uid"].split()[0] == str(deployment.uid) and status["Gid"].split()[0] == str(deployment.gid)
        assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2", role
        if "PrivateNetwork" in deployment.reproduced(f"progimage@{role}.service"):
            assert network != own_network, role
        if role == FD0_ROLE:
            assert network == own_network
    assert seen == set(deployment.installed.roles())
