"""Concurrency and instance supervision."""

import io
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

SLOW = 300


def test_concurrent_cold_requests(stack, tools):
    # One larger image for the shared cold URL, four small ones for 20 distinct cold URLs.
    hot = stack.upload_ok(tools.png(tools.gradient(1200, 900, seed=70)), "hot.png")
    hot_url = f"/images/{hot['id']}.webp"
    distinct = []
    for i in range(4):
        obj = stack.upload_ok(tools.png(tools.gradient(240, 180, seed=71 + i)), f"cold{i}.png")
        distinct += [f"/images/{obj['id']}.{ext}" for ext in ("jpg", "webp", "gif", "bmp", "tiff")]
    assert len(distinct) == 20
    urls = [hot_url] * 20 + distinct
    barrier = threading.Barrier(len(urls))

    def fetch(url):
        with requests.Session() as s:
            barrier.wait(timeout=60)
            try:
                r = s.get(stack.url(url), timeout=SLOW, allow_redirects=False)
            except requests.RequestException as e:
                return url, None, repr(e), {}
            return url, r.status_code, r.content, dict(r.headers)

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        results = list(pool.map(fetch, urls))

    bad = [(u, st, body[:200] if isinstance(body, bytes) else body) for u, st, body, _ in results if st != 200]
    assert not bad, f"{len(bad)} of {len(urls)} concurrent requests failed: {bad[:5]}"
    hot_bodies = {body for u, _, body, _ in results if u == hot_url}
    assert len(hot_bodies) == 1, f"concurrent requests for one cold URL got {len(hot_bodies)} different bodies"
    for u, _, body, headers in results:
        ext = u.rsplit(".", 1)[1]
        assert headers.get("Content-Type") == tools.CONTENT_TYPES[ext], (u, headers)
        assert headers.get("X-Cache") in ("HIT", "MISS"), (u, headers)
    im = tools.decode(next(iter(hot_bodies)))
    assert im.size == (1200, 900) and im.format == "WEBP"
    # afterwards every one of them is a HIT with the same bytes
    after = stack.get(hot_url)
    assert after.headers.get("X-Cache") == "HIT" and after.content in hot_bodies


def test_concurrent_uploads_get_distinct_ids(stack, tools):
    data = [tools.png(tools.noise(16, 16, seed=90 + i)) for i in range(16)]
    barrier = threading.Barrier(len(data))

    def up(d):
        with requests.Session() as s:
            barrier.wait(timeout=60)
            r = s.post(stack.url("/images"), data=d, headers={"Content-Type": "image/png"}, timeout=SLOW)
            return r.status_code, r.json() if r.status_code == 201 else r.content

    with ThreadPoolExecutor(max_workers=len(data)) as pool:
        results = list(pool.map(up, data))
    assert all(st == 201 for st, _ in results), results
    objs = [o for _, o in results]
    assert len({o["id"] for o in objs}) == len(data)
    for o, d in zip(objs, data):
        assert o["sha256"] == tools.sha256(d)
        assert stack.get(o["url"]).content == d


@pytest.mark.processes_only
def test_an_instance_killed_again_and_again_is_back_within_5_s_each_time(stack, tools):
    """The supervisor backs off a crash loop, up to a cap: the contract's 5 s holds for
    every restart, the cap's too (at a 5-s cap a loop came back after 5.06 s)."""
    gaps = []
    for _ in range(9):  # 0.1, 0.2, … 1.6 s, then the 3-s cap four times
        pid = stack.health("sharpen").json()["pid"]
        assert stack.owns_pid(pid)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        while time.monotonic() - killed < 6.0:
            try:
                r = stack.get("/health/sharpen", timeout=2)
                if r.status_code == 200 and r.json().get("pid") != pid:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        gaps.append(round(time.monotonic() - killed, 2))
        assert gaps[-1] < 5.0, f"sharpen not back within 5 s after kill {len(gaps)}: {gaps}"
    assert gaps[-1] > 2.0, f"the loop never reached the backoff's cap: {gaps}"


def test_killed_instance_is_restarted(stack, tools):
    before = {t: stack.health(t).json()["pid"] for t in ("api", "convert", "resize")}
    pid = before["resize"]
    assert stack.owns_pid(pid), f"/health/resize reports pid {pid}, which is not a process of this stack"
    os.kill(pid, signal.SIGKILL)

    # the other types are not disturbed: they answer right away
    for t in ("api", "convert"):
        r = stack.health(t)
        assert r.status_code == 200, tools.describe(r)
        assert r.json()["instance"] == t

    deadline = time.monotonic() + 5.0
    last = None
    while time.monotonic() < deadline:
        try:
            last = stack.get("/health/resize", timeout=2)
        except requests.RequestException as e:
            last = e
        else:
            if last.status_code == 200 and last.json().get("pid") != pid:
                break
            if last.status_code != 200:
                tools.json_error(last, range(500, 600))  # while down: a JSON 502/503
        time.sleep(0.1)
    else:
        detail = tools.describe(last) if isinstance(last, requests.Response) else repr(last)
        raise AssertionError(f"resize not serving again with a new pid within 5 s: {detail}")
    new = last.json()
    assert new["instance"] == "resize" and new["pid"] != pid
    assert stack.owns_pid(new["pid"])
    # and the api still works
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=99)))
    assert stack.get(f"/images/{obj['id']}").status_code == 200


def test_temporary_files_of_a_killed_writer_go_when_an_instance_starts(stack, tools):
    """A worker killed while it wrote a derived file, or the api while it wrote an original,
    left its temporary file for good (a black-box tester found 25 MB and 27 MB ones after
    restarts): nothing reads them, and `check` only reports them. A temporary file names its
    writer's pid; an instance starting removes those whose writer is gone."""
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: its pid names no running process now
    leftovers = [stack.data_dir / "originals" / ".tmp" / f"tmp-{child.pid}-aB3dE9",
                 stack.cache_dir / ".tmp" / f"tmp-{child.pid}-Zz0yY1"]
    running = stack.cache_dir / ".tmp" / f"tmp-{os.getpid()}-Qq1wW2"
    for path in leftovers + [running]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial" * 1000)
    stack.kill_instance("api")
    assert [p for p in leftovers if p.exists()] == []
    assert running.exists()
    running.unlink()


def cmdline(pid: int) -> bytes:
    """A process's command line, NUL-separated; empty once it is gone."""
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


@pytest.mark.processes_only
def test_a_supervisor_killed_outright_takes_its_children_with_it():
    """A supervisor killed with SIGKILL (the OOM killer, `kill -9`) left nginx and every worker
    running, unsupervised (a worker that then died stayed dead) and holding the port, so the
    next `make run` refused to start. Its children now end with it, and the stack starts
    again on the same port."""
    from conftest import Stack, _is_descendant
    box = Stack()
    box.start()
    try:
        [supervisor] = [pid for pid in box.leftovers() if b"progimage-dev\0run" in cmdline(pid)
                        or cmdline(pid).endswith(b"progimage-dev\0run\0")]
        children = [pid for pid in box.leftovers() if pid != supervisor and _is_descendant(pid, supervisor)]
        assert len(children) >= 12, children  # nginx's master and workers, and a worker per role
        os.kill(supervisor, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            alive = [pid for pid in children if os.path.exists(f"/proc/{pid}")
                     and open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z"]
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, [cmdline(pid) for pid in alive]
        box.start()  # same port, free again
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


@pytest.mark.processes_only
def test_an_nginx_master_killed_outright_leaves_no_worker_behind():
    """nginx's workers outlive a master killed with SIGKILL: they kept the port, every
    restart of nginx failed to bind it, and they were still listening after `make run`
    stopped (a black-box tester). The supervisor is their subreaper now and stops them
    before nginx starts again."""
    from conftest import Stack, _proc_stat
    box = Stack()
    box.start()
    try:
        [master] = [pid for pid in box.leftovers() if cmdline(pid).startswith(b"nginx: master process")]
        workers = [pid for pid in box.leftovers() if (_proc_stat(pid) or ("", 0, 0))[1] == master]
        assert workers
        os.kill(master, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            alive = [pid for pid in workers if (_proc_stat(pid) or ("Z",))[0] != "Z"]
            try:
                serving = box.get("/health/api", timeout=1).status_code == 200
            except requests.RequestException:
                serving = False
            if not alive and serving:
                break
            time.sleep(0.1)
        assert not alive, [cmdline(pid) for pid in alive]
        assert serving, "nginx not serving again within 5 s"
        [new_master] = [pid for pid in box.leftovers() if cmdline(pid).startswith(b"nginx: master process")]
        assert new_master != master
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


@pytest.mark.parametrize("variable", ["PROGIMAGE_DATA_DIR", "PROGIMAGE_CACHE_DIR"])
def test_a_directory_nobody_can_write_stops_the_start(variable, tmp_path):
    """An existing read-only data directory had every instance exit at start and be
    restarted for ever behind a stack that said it was serving (all 502); a read-only cache
    made every derived image a 500 (a black-box tester)."""
    from conftest import start_that_stops, tmpfs
    with tmpfs("1m", read_only=True) as mount:
        r = start_that_stops({variable: str(mount)}, tmp_path)
    assert r.returncode == 2 and f"{variable}: cannot write to {mount}" in r.stderr, (r.returncode, r.stderr[-500:])


@pytest.mark.parametrize("variable", ["PROGIMAGE_DATA_DIR", "PROGIMAGE_CACHE_DIR", "PROGIMAGE_RUN_DIR"])
def test_a_directory_that_cannot_be_made_stops_the_start_naming_its_variable(variable, tmp_path):
    """A file where the directory should be had stopped the start with a bare `mkdir(…)
    failed` and exit 1 (a black-box tester): it is the variable's bad value, exit 2."""
    from conftest import start_that_stops
    in_the_way = tmp_path / "a-file"
    in_the_way.write_bytes(b"x")
    r = start_that_stops({variable: str(in_the_way / "sub")}, tmp_path)
    assert r.returncode == 2 and f"{variable}: cannot write to {in_the_way}/sub" in r.stderr, (r.returncode, r.stderr[-500:])


@pytest.mark.parametrize("variable,value", [("PROGIMAGE_CACHE_DIR", "sp ace"), ("PROGIMAGE_DATA_DIR", "d;x"),
                                            ("PROGIMAGE_S3_TIMEOUT_S", "abc"), ("PROGIMAGE_S3_BUCKET", "b"),
                                            ("PROGIMAGE_API_KEY", "ab\ncd"), ("PROGIMAGE_FETCH_TIMEOUT_S", "600")])
def test_a_value_nginx_or_a_later_store_would_trip_on_stops_the_start(variable, value, tmp_path):
    """A directory with a blank or `;` reached nginx's configuration unquoted (nginx then
    refused it naming no variable); an S3 timeout of `abc` or a bucket `b` passed while no
    store was configured; an API key with a line break, which no client can send, started a
    box whose every write was 401 (black-box testers)."""
    from conftest import assert_start_refused
    assert_start_refused(variable, str(tmp_path / value) if variable.endswith("_DIR") else value, tmp_path)


@pytest.mark.parametrize("variable", ["PROGIMAGE_DATA_DIR", "PROGIMAGE_API_KEY"])
def test_a_value_that_is_not_utf8_stops_the_start(variable, tmp_path):
    """Bytes that are not UTF-8 reached the configuration as U+FFFD: a data directory so read
    was another directory, made and used without a word. It stops the start, exit 2."""
    from conftest import assert_start_refused
    raw = os.fsencode(tmp_path) + b"/data\xe9" if variable.endswith("_DIR") else b"key\xe9"
    assert_start_refused(variable, os.fsdecode(raw), tmp_path)
    assert not any(p.name.startswith("data") for p in tmp_path.iterdir())


def test_a_mistyped_variable_is_named_at_start(stack_factory, tools):
    """`PROGIMAGE_MAX_PIXEL=10` (an S short) ran on the default 100 M pixels without a word
    (a black-box tester). The start goes on, as a wrapper may keep settings of its own under
    the prefix, and says which name it ignored and which one it most likely meant."""
    stack = stack_factory({"PROGIMAGE_MAX_PIXEL": "10", "PROGIMAGE_WIDGETS": "3"})
    expected = [
        "PROGIMAGE_MAX_PIXEL is not a variable progimage reads; ignored (did you mean PROGIMAGE_MAX_PIXELS?)",
        "PROGIMAGE_WIDGETS is not a variable progimage reads; ignored",
    ]
    deadline = time.monotonic() + 10
    while not all(line in stack.log_tail(400) for line in expected) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(line in stack.log_tail(400) for line in expected), stack.log_tail(40)
    assert stack.upload(tools.png(tools.noise(20, 20, seed=1))).status_code == 201


@pytest.mark.processes_only
def test_answers_from_memory_in_flight_when_the_stack_stops_arrive_whole(tmp_path, tools):
    """DEPLOYMENT.md: a stop lets nginx finish what it has while the workers still answer.
    A black-box tester stopped a stack whose cache keeps nothing during two cold misses:
    both renders were done within a second, but nginx's graceful exit left with one answer
    in its buffers, a 200 with its whole Content-Length cut after 32 KB, in 3 of 3 stops.
    Two rounds of three misses here, the supervisor alone sent SIGTERM mid-render."""
    from conftest import Stack
    photo = tools.jpeg(tools.noise(1800, 1200, seed=11), quality=92)
    for round in range(2):
        box = Stack({"PROGIMAGE_RUN_DIR": str(tmp_path / f"run{round}"), "PROGIMAGE_CACHE_MAX_BYTES": "0"})
        box.start()
        try:
            iid = box.upload_ok(photo, "noise.jpg", "image/jpeg")["id"]
            answers: dict[int, tuple] = {}

            def miss(k: int) -> None:
                try:
                    r = box.get(f"/images/{iid}/resize:{1500 + k}x.avif")
                    answers[k] = (r.status_code, int(r.headers.get("Content-Length", -1)), len(r.content), time.monotonic())
                except requests.RequestException as error:
                    answers[k] = ("broken", str(error)[:200])

            threads = [threading.Thread(target=miss, args=(k,)) for k in range(3)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            stopped_at = time.monotonic()
            os.kill(box.proc.pid, signal.SIGTERM)
            box.proc.wait(timeout=30)
            for thread in threads:
                thread.join(timeout=30)
            for k, answer in answers.items():
                assert answer[0] == 200 and answer[1] == answer[2] > 32768, (round, k, answer)
                assert answer[3] > stopped_at, f"the miss was answered before the stop: the test tested nothing {answer}"
            assert len(answers) == 3, answers
        finally:
            problems = box.stop()
            box.cleanup_files()
        assert not problems, problems


@pytest.mark.processes_only
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_make_run_stops_on_a_signal_to_make_alone(stop):
    """API.md: "SIGINT or SIGTERM stops all of it, leaving no process behind". A program that
    starts `make run` and signals make's pid alone (not its process group, as a terminal's
    Ctrl-C does): GNU make passes SIGTERM on to its child but not SIGINT, and waits for it,
    so the stack ran on and make waited forever."""
    from conftest import Stack
    box = Stack(command=["make", "--no-print-directory", "run"])
    # A test run that ignores SIGINT (a background job of a non-interactive shell) would
    # hand make SIGINT ignored, and such a make is stopped by nothing but SIGTERM; caught
    # here, the child gets SIGINT's default, as from a terminal.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        box.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        os.kill(box.proc.pid, stop)
        try:
            box.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run still running 20 s after {stop.name} to make alone")
        deadline = time.monotonic() + 5
        while box.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert box.leftovers() == []
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


def _fastcgi(socket_path: str, params: dict[str, str], body: bytes) -> bytes:
    """One FastCGI request on a worker's own socket, as nginx sends it; the response's
    stdout (CGI headers and body)."""
    import struct

    def record(kind: int, content: bytes) -> bytes:
        return struct.pack(">BBHHBx", 1, kind, 1, len(content), 0) + content

    def pair(name: str, value: str) -> bytes:
        n, v = name.encode(), value.encode()
        size = lambda b: bytes([len(b)]) if len(b) < 128 else struct.pack(">I", len(b) | 0x80000000)
        return size(n) + size(v) + n + v

    encoded = b"".join(pair(k, v) for k, v in params.items())
    message = record(1, struct.pack(">HB5x", 1, 0)) + record(4, encoded) + record(4, b"")
    for at in range(0, len(body), 65535):
        message += record(5, body[at:at + 65535])
    message += record(5, b"")
    out = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(socket_path)
        s.sendall(message)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    at = 0
    while at + 8 <= len(data):
        _, kind, _, length, padding = struct.unpack(">BBHHBx", data[at:at + 8])
        if kind == 6:
            out += data[at + 8:at + 8 + length]
        at += 8 + length + padding
    return out


def test_an_upload_that_outlived_nginx_s_wait_stores_nothing(tmp_path, tools):
    """nginx answers `504` once its read timeout (300 s from handing the request on) has
    passed; an upload the worker finished after that was stored all the same (a black-box
    tester's 207-byte PNG, queued behind slow uploads), so the client was told it failed and
    a retry stored it twice. Sent to the api instance's own socket with the time nginx
    handed it on, 295 s ago, it is refused before its record; sent now, it is stored."""
    from conftest import Stack
    box = Stack({"PROGIMAGE_RUN_DIR": str(tmp_path / "run")})
    box.start()
    try:
        png = tools.png(tools.gradient(20, 10, seed=3))
        base = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/images", "REQUEST_URI": "/images",
                "QUERY_STRING": "", "CONTENT_TYPE": "image/png", "CONTENT_LENGTH": str(len(png)),
                "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
        api = str(tmp_path / "run" / "api.sock")
        late = _fastcgi(api, {**base, "NGINX_SENT_AT": f"{time.time() - 295:.3f}"}, png)
        assert late.startswith(b"Status: 504"), late[:200]
        assert box.list_all_ids() == []
        assert not [f for f in box.files_under(box.data_dir / "originals") if not f.startswith(".")]
        on_time = _fastcgi(api, {**base, "NGINX_SENT_AT": f"{time.time():.3f}"}, png)
        assert on_time.startswith(b"Status: 201"), on_time[:200]
        assert len(box.list_all_ids()) == 1
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


@pytest.mark.processes_only
def test_a_second_stack_with_the_same_run_dir_stops_and_leaves_the_first_serving(tmp_path, tools):
    """A second `make run` with another port, data and cache but the same PROGIMAGE_RUN_DIR
    had bound the first one's sockets again: the first one's port served the second one's
    data, and 502 for ever once it stopped (a black-box tester). It stops at once now,
    naming the variable, as for a taken port."""
    from conftest import Stack, start_that_stops
    run_dir = tmp_path / "run"
    box = Stack({"PROGIMAGE_RUN_DIR": str(run_dir)})
    box.start()
    try:
        image = box.upload_ok(tools.png(tools.gradient(20, 10, seed=5)))
        second = start_that_stops({"PROGIMAGE_RUN_DIR": str(run_dir)}, tmp_path / "second")
        assert second.returncode != 0 and "PROGIMAGE_RUN_DIR" in second.stderr, (second.returncode, second.stderr[-500:])
        assert box.get(image["url"]).status_code == 200
        assert box.get(f"/images/{image['id']}/flip:h.png").status_code == 200
        assert box.health("api").status_code == 200
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


def _render_left_after_3_s_is_logged_504_within_20_s(original: bytes, filename: str, content_type: str, chain: str,
                                                     one_step: str | None = None):
    """Asks for `chain` of `original` on a stack of its own, leaves after 3 s, and expects the
    request's log line (its instance done with it) to say 504 within 20 s, or within twice
    what `one_step` (the chain's first operation alone) takes on this box now, if longer: a
    loaded box (a fresh-clone CI run beside other work) took longer than 20 s for one
    `blur:50` of a 4096² canvas, which is still far less than the whole chain."""
    from conftest import Stack
    box = Stack()
    box.start()
    try:
        iid = box.upload_ok(original, filename, content_type)["id"]
        bound = 20.0
        if one_step:
            started = time.monotonic()
            r = box.get(f"/images/{iid}/{one_step}", timeout=300)
            assert r.status_code == 200, r.text
            bound = max(bound, 2 * (time.monotonic() - started))
        path = f"/images/{iid}/{chain}"
        try:
            box.get(path, timeout=3)
        except requests.exceptions.Timeout:
            pass
        else:
            pytest.fail("the render finished within 3 s: it cannot show the stop")
        finished = None
        left = time.monotonic()
        while finished is None and time.monotonic() - left < bound:
            lines = [line for line in box.log_tail(400).splitlines() if path in line and "response.status=" in line]
            finished = lines[0] if lines else None
            time.sleep(0.5)
        assert finished, "the render went on after its client left"
        assert "response.status=504" in finished, finished
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems


@pytest.mark.processes_only
def test_a_still_chain_nobody_waits_for_stops_between_operations():
    """A still image's chain within every limit can take a minute (seven `blur:50` of a
    4096² canvas, ~6 s each); a black-box tester's ran 43 s after its client had gone.
    Once nginx closes the connection, the chain stops before its next operation, so the
    request's log line comes within one operation's time, not the chain's."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, "JPEG")
    _render_left_after_3_s_is_logged_504_within_20_s(
        buffer.getvalue(), "small.jpg", "image/jpeg", "resize:4096x4096,force" + "/blur:50" * 7 + ".png",
        one_step="resize:4096x4096,force/blur:50.png")


@pytest.mark.processes_only
def test_an_animation_nobody_waits_for_stops_rendering():
    """A 31-KB GIF of 500 tiny frames through `resize:…,force/blur:…` is allowed by every
    limit and takes minutes; a black-box tester's ran 20 minutes in its worker after nginx
    had answered 504. Once nginx closes the connection (its client left, or its timeout
    passed), the render stops at the next frame."""
    frames = [Image.new("RGB", (16, 16), (i % 256, (7 * i) % 256, 90)) for i in range(500)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=20, loop=0)
    _render_left_after_3_s_is_logged_504_within_20_s(
        buffer.getvalue(), "many.gif", "image/gif", "resize:1000x1000,force/blur:40.gif")


def _fnv1a32(text: str) -> int:
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


@pytest.mark.processes_only
def test_a_long_render_holds_up_no_other_path():
    """Misses of one path wait for one render; before, paths shared 256 lock files, so a
    black-box probe's five-minute render held every unrelated miss whose path shared its
    lock (1 in 256, any role) until nginx answered 504. Here a miss whose path shared the
    slow render's old lock file answers while that render still runs."""
    from conftest import Stack, Tools
    box = Stack()
    box.start()
    try:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, "JPEG")
        slow_id = box.upload_ok(buffer.getvalue(), "slow.jpg", "image/jpeg")["id"]
        slow_chain = "resize:2048x2048,force" + "/blur:50" * 5 + ".png"
        quick_id = box.upload_ok(Tools.png(Tools.noise(8, 8, seed=44)))["id"]

        def cache_path(image_id: str, chain: str) -> str:
            return f"{box.cache_dir}/{image_id[:2]}/{image_id[2:4]}/{image_id}/{chain}"

        shared = _fnv1a32(cache_path(slow_id, slow_chain)) % 256
        quick_chain = next(f"resize:{n}x.png" for n in range(1, 8193)
                           if _fnv1a32(cache_path(quick_id, f"resize:{n}x.png")) % 256 == shared)
        slow = ThreadPoolExecutor(max_workers=1)
        try:
            pending = slow.submit(box.get, f"/images/{slow_id}/{slow_chain}", timeout=600)
            time.sleep(2)  # its render holds its lock now
            assert not pending.done(), "the slow render finished within 2 s: it cannot show the wait"
            started = time.monotonic()
            r = box.get(f"/images/{quick_id}/{quick_chain}", timeout=600)
            waited = time.monotonic() - started
            assert r.status_code == 200, Tools.describe(r)
            assert waited < 5, f"a miss of another path waited {waited:.1f} s for an unrelated render"
            assert not pending.done(), "the slow render finished first: it cannot show the wait"
            assert pending.result().status_code == 200
            # Each lock file goes with its render: none is left per path.
            assert list((box.cache_dir / ".locks" / "paths").iterdir()) == []
        finally:
            slow.shutdown(wait=True)
    finally:
        problems = box.stop()
        box.cleanup_files()
    assert not problems, problems
