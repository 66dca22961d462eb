"""The cache budget under bursts and reuse (API.md, "More than one box, and operations"):
the derived-file cache stays within PROGIMAGE_CACHE_MAX_BYTES continuously, evicting least
recently used files; an image the cache has no room for is still answered, from memory,
as nginx would answer it from a file (Range, If-None-Match, the caching headers)."""

from __future__ import annotations

import io
import os
import random
import time

import pytest
from PIL import Image

from conftest import Stack, Tools
from test_cache_budget import used_bytes

BUDGET = 3_000_000


def noisy_png(seed: int) -> bytes:
    """640×480 of noise: each crop's PNG is ~600 KB, five of them fill the budget."""
    rnd = random.Random(seed)
    im = Image.frombytes("RGB", (640, 480), bytes(rnd.randrange(256) for _ in range(640 * 480 * 3)))
    return Tools.png(im)


@pytest.fixture()
def budget_stack():
    stack = Stack({"PROGIMAGE_CACHE_MAX_BYTES": str(BUDGET)})
    stack.start()
    yield stack
    problems = stack.stop()
    stack.cleanup_files()
    assert not problems, problems


def test_a_burst_never_takes_the_cache_over_its_budget(budget_stack):
    """25 new ~600 KB files as fast as they come: files used in the last seconds are not
    evicted (nginx may be sending them), so the ones that do not fit are answered without
    being kept, and the cache never passes its budget."""
    stack = budget_stack
    image = stack.upload_ok(noisy_png(1))
    peak = 0
    for n in range(25):
        r = stack.get(f"/images/{image['id']}/crop:{n},0,600,480.png")
        assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", Tools.describe(r)
        assert Image.open(io.BytesIO(r.content)).size == (600, 480)
        peak = max(peak, used_bytes(stack.cache_dir))
    assert peak <= BUDGET, f"the cache reached {peak} bytes, budget {BUDGET}"


def test_a_file_served_often_outlives_files_never_read(budget_stack):
    """Least recently *used*: X is read between new files; the new files, never read again,
    go first. (A read updates atime under relatime only once after each write or ctime
    change; eviction passes re-arm it, or X aged like a file never read.)"""
    stack = budget_stack
    image = stack.upload_ok(noisy_png(2))
    x = f"/images/{image['id']}/crop:200,0,400,480.png"
    assert stack.get(x).headers["X-Cache"] == "MISS"
    assert stack.get(x).headers["X-Cache"] == "HIT"
    time.sleep(1)
    for n in range(14):
        r = stack.get(f"/images/{image['id']}/crop:{n + 30},0,600,480.png")
        assert r.status_code == 200, Tools.describe(r)
        time.sleep(0.7)
        r = stack.get(x)
        assert r.status_code == 200
        assert r.headers["X-Cache"] == "HIT", f"X evicted after {n + 1} new files, though read every 0.7 s"


def test_a_concurrent_burst_stays_within_the_budget_while_it_runs(budget_stack):
    """Eight renders in flight: a file reserved before an eviction pass and renamed into a
    folder the pass had already walked was counted nowhere, the pass set the counter below
    the disk, and the cache stayed ~10 % over its budget for the ~5 s until the next pass
    (a black-box probe). Watched every 20 ms while the burst runs, and after."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    stack = budget_stack
    rnd = random.Random(7)
    noise = Image.frombytes("RGB", (1200, 900), bytes(rnd.randrange(256) for _ in range(1200 * 900 * 3)))
    image = stack.upload_ok(Tools.png(noise))
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            # Each file once: one seen in .tmp and again after its rename is not two.
            seen, total = set(), 0
            for base, dirs, files in os.walk(stack.cache_dir):
                dirs[:] = [d for d in dirs if d != ".locks"]
                for name in files:
                    try:
                        st = os.lstat(os.path.join(base, name))
                    except FileNotFoundError:
                        continue
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_blocks * 512
            peak[0] = max(peak[0], total)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for start in (350, 420):
            paths = [f"/images/{image['id']}/resize:{w}x.png" for w in range(start, start + 40)]
            with ThreadPoolExecutor(8) as pool:
                for r in pool.map(stack.get, paths):
                    assert r.status_code == 200, Tools.describe(r)
        deadline = time.monotonic() + 7
        while time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        done.set()
        watcher.join()
    assert peak[0] <= BUDGET, f"the cache reached {peak[0]} bytes, budget {BUDGET}"


def test_files_read_after_their_first_send_outlive_files_never_read_again(budget_stack):
    """The MISS's own send spends relatime's one atime update, so reads after it went
    unrecorded until an eviction pass re-armed the file; the first pass then evicted three
    files read since before seven never read again (ties by path: the hot ones sort first;
    a black-box probe, twice). A new file is re-armed once it has been sent."""
    stack = budget_stack
    image = stack.upload_ok(noisy_png(4))
    # ~430 KB each: six stay under the 95 % that starts a pass, so none runs before the reads.
    paths = [f"/images/{image['id']}/crop:{n},0,300,480.png" for n in range(6)]
    for path in paths:
        assert stack.get(path).headers["X-Cache"] == "MISS"
    time.sleep(3)
    hot = paths[:2]
    for path in hot:
        assert stack.get(path).headers["X-Cache"] == "HIT"
    time.sleep(3)  # past the 5 s a new file is never evicted
    for n in range(6):  # new files until a pass has evicted some of the first eight
        assert stack.get(f"/images/{image['id']}/crop:{n + 40},0,300,480.png").status_code == 200
        time.sleep(0.3)
    on_disk = {name for _, _, files in os.walk(stack.cache_dir) for name in files}
    kept = [path.rsplit("/", 1)[1] in on_disk for path in paths]  # looked at, not asked for
    assert not all(kept), "nothing was evicted: the test proves nothing"
    assert all(kept[:2]), f"a file read since its first send was evicted before files never read again: {kept}"


def test_a_delete_takes_its_files_out_of_the_budget_at_once(budget_stack):
    """The counter said a deleted image's files were there until the next pass (a probe:
    2.67 MB counted over an empty cache), so new files were refused room they had."""
    stack = budget_stack
    image = stack.upload_ok(noisy_png(5))
    for n in range(3):
        assert stack.get(f"/images/{image['id']}/crop:{n},0,500,480.png").status_code == 200

    def counted() -> int:
        return int((stack.cache_dir / ".locks" / "usage").read_text().split()[0])

    assert counted() >= 3 * 500 * 480 * 3 * 0.9
    assert stack.delete(f"/images/{image['id']}").status_code == 204
    assert counted() < 100_000, counted()


def test_an_image_without_room_is_answered_like_a_file(tmp_path):
    """A budget smaller than the image: never kept, answered from memory each time, with
    nginx's validators and ranges."""
    stack = Stack({"PROGIMAGE_CACHE_MAX_BYTES": "100000"})
    stack.start()
    try:
        image = stack.upload_ok(noisy_png(3))
        path = f"/images/{image['id']}/crop:0,0,500,400.png"
        whole = stack.get(path)
        assert whole.status_code == 200 and whole.headers["X-Cache"] == "MISS", Tools.describe(whole)
        for header in ("ETag", "Last-Modified", "Cache-Control", "Content-Length"):
            assert whole.headers.get(header), f"{header} missing: {Tools.describe(whole)}"
        assert whole.headers.get("Accept-Ranges") == "bytes"
        assert len(whole.content) > 100000
        again = stack.get(path)
        assert again.headers["X-Cache"] == "MISS" and again.content == whole.content
        assert again.headers["ETag"] == whole.headers["ETag"]

        r = stack.get(path, headers={"Range": "bytes=10-29"})
        assert r.status_code == 206 and r.content == whole.content[10:30], Tools.describe(r)
        assert r.headers["Content-Range"] == f"bytes 10-29/{len(whole.content)}"
        r = stack.get(path, headers={"Range": "bytes=-16"})
        assert r.status_code == 206 and r.content == whole.content[-16:]
        r = stack.get(path, headers={"If-None-Match": whole.headers["ETag"]})
        assert r.status_code == 304 and r.content == b"", Tools.describe(r)
        r = stack.get(path, headers={"Range": "bytes=99999999-"})
        Tools.json_error(r, 416, "range_not_satisfiable")
        assert r.headers["Content-Range"] == f"bytes */{len(whole.content)}", Tools.describe(r)
        # A last position as large as a 64-bit integer goes: the end is the end.
        r = stack.get(path, headers={"Range": "bytes=5-9223372036854775807"})
        assert r.status_code == 206 and r.content == whole.content[5:], Tools.describe(r)
        # HEAD announces what a GET sends, as nginx does for a file.
        r = stack.head(path)
        assert r.status_code == 200 and r.headers["Content-Length"] == str(len(whole.content)), Tools.describe(r)
        r = stack.head(path, headers={"Range": "bytes=0-99"})
        assert r.headers["Content-Length"] == "100" and r.headers["Content-Range"].startswith("bytes 0-99/")
    finally:
        problems = stack.stop()
        stack.cleanup_files()
        assert not problems, problems


# Conditional and range headers, each answered by nginx from the kept file on one stack and
# by the instance from memory on a stack whose budget has no room for it: the two answers
# must agree (status, error code, ranges, bytes), with each stack's own validators filled in.
# The memory path had honoured only If-None-Match and one range (a black-box tester).
CONDITIONS = [
    {}, {"If-None-Match": "{etag}"}, {"If-None-Match": "W/{etag}"}, {"If-None-Match": '"x", {etag}'},
    {"If-None-Match": '"x"'}, {"If-None-Match": "*"},
    {"If-Modified-Since": "{lm}"}, {"If-Modified-Since": "{lm+1}"}, {"If-Modified-Since": "{lm-1}"},
    {"If-Modified-Since": "{lm:850}"}, {"If-Modified-Since": "{lm:asctime}"}, {"If-Modified-Since": "yesterday"},
    {"If-Modified-Since": "{lm+1}", "If-None-Match": '"x"'}, {"If-Modified-Since": "{lm-1}", "If-None-Match": "{etag}"},
    {"If-Unmodified-Since": "{lm}"}, {"If-Unmodified-Since": "{lm-1}"}, {"If-Unmodified-Since": "soon"},
    {"If-Match": "{etag}"}, {"If-Match": '"zz"'}, {"If-Match": "*"}, {"If-Match": "W/{etag}"},
    {"Range": "bytes=0-1,5-6"}, {"Range": "bytes=10-29"}, {"Range": "bytes=-16"}, {"Range": "bytes=9-0"},
    {"Range": "bytes=0-"}, {"Range": "bytes= 3 - 7"}, {"Range": "Bytes=3-7"}, {"Range": "bytes=3-7,"},
    {"Range": "bytes=abc"}, {"Range": "bytes=-0"}, {"Range": "bytes=99999999-"}, {"Range": "bytes=0-10,5-15"},
    {"Range": "bytes=0-,0-"}, {"Range": "bytes=5-9223372036854775807"}, {"Range": "bytes=0-0,99999999-"},
    {"Range": "bytes=1-2", "If-Range": "{etag}"}, {"Range": "bytes=1-2", "If-Range": '"x"'},
    {"Range": "bytes=1-2", "If-Range": "{lm}"}, {"Range": "bytes=1-2", "If-Range": "{lm-1}"},
    {"Range": "bytes=1-2", "If-None-Match": "{etag}"}, {"Range": "bytes=1-2", "If-Match": '"zz"'},
]


def _filled(template: dict, etag: str, modified: float) -> dict:
    from email.utils import formatdate
    def date(seconds: float, form: str = "") -> str:
        t = time.gmtime(seconds)
        if form == "850":
            return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", t)
        if form == "asctime":
            return time.strftime("%a %b ", t) + f"{t.tm_mday:2d}" + time.strftime(" %H:%M:%S %Y", t)
        return formatdate(seconds, usegmt=True)
    values = {"{etag}": etag, "{lm}": date(modified), "{lm+1}": date(modified + 1), "{lm-1}": date(modified - 1),
              "{lm:850}": date(modified, "850"), "{lm:asctime}": date(modified, "asctime")}
    filled = {}
    for name, value in template.items():
        for placeholder, text in values.items():
            value = value.replace(placeholder, text)
        filled[name] = value
    return filled


def _answer(stack, path: str, template: dict):
    """What a client can compare across two stacks: status, error code, ranges and bytes."""
    from email.utils import parsedate_to_datetime
    base = stack.get(path)
    modified = parsedate_to_datetime(base.headers["Last-Modified"]).timestamp()
    headers = _filled(template, base.headers["ETag"], modified)
    r = stack.get(path, headers=headers)
    kind = r.headers.get("Content-Type", "")
    if kind == "application/json":
        body = r.json()["error"]["code"]
    elif kind.startswith("multipart/byteranges; boundary="):
        boundary = kind.split("=", 1)[1].encode()
        body = []
        for part in r.content.split(b"--" + boundary)[1:-1]:
            head, _, data = part.partition(b"\r\n\r\n")
            ranges = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-range:")]
            body.append((ranges[0].decode(), data[:-2]))
    else:
        body = r.content
    return (r.status_code, body, r.headers.get("Content-Range"), "Accept-Ranges" in r.headers,
            kind.split(";")[0] if r.status_code != 304 else None), r


def test_an_image_answered_from_memory_meets_conditions_and_ranges_as_nginx_does(stack, stack_factory):
    memory = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": "100000"})
    data = noisy_png(3)
    path = "/crop:0,0,500,400.png"
    on_disk, in_memory = stack.upload_ok(data), memory.upload_ok(data)
    kept = stack.get(f"/images/{on_disk['id']}{path}")
    assert kept.status_code == 200 and stack.get(f"/images/{on_disk['id']}{path}").headers["X-Cache"] == "HIT"
    unkept = memory.get(f"/images/{in_memory['id']}{path}")
    assert unkept.headers["X-Cache"] == "MISS" and unkept.content == kept.content, Tools.describe(unkept)
    assert memory.get(f"/images/{in_memory['id']}{path}").headers["X-Cache"] == "MISS"
    differences = []
    for template in CONDITIONS:
        expected, _ = _answer(stack, f"/images/{on_disk['id']}{path}", template)
        got, r = _answer(memory, f"/images/{in_memory['id']}{path}", template)
        if got != expected:
            differences.append((template, got[:1] + got[2:], expected[:1] + expected[2:], got[1] == expected[1]))
        assert r.headers["X-Cache"] == "MISS", Tools.describe(r)
    assert not differences, differences


def test_a_derived_file_is_dated_by_what_it_is_made_from(stack, stack_factory):
    """A derived file's Last-Modified and ETag come from the original's `created_at`, not
    the moment it was rendered: from disk and from memory alike, and after an eviction."""
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime
    memory = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": "100000"})
    data = noisy_png(4)
    for box in (stack, memory):
        image = box.upload_ok(data)
        created = datetime.strptime(image["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        time.sleep(1.1)  # a render dated now would show it
        for path in ("/crop:0,0,500,400.png", "/resize:40x.webp"):
            r = box.get(f"/images/{image['id']}{path}")
            assert r.status_code == 200, Tools.describe(r)
            assert parsedate_to_datetime(r.headers["Last-Modified"]) == created, Tools.describe(r)
            assert r.headers["ETag"] == f'"{int(created.timestamp()):x}-{len(r.content):x}"', Tools.describe(r)
