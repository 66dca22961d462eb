"""Disk first: what nginx serves from the cache, and when a request becomes a miss.

nginx keeps hot derived files open (`open_file_cache`, re-`stat`ed on every hit); these
tests hold it to what that must not cost: after a delete, a wipe or a replaced file, no
connection is ever served the old file, and a removed file's descriptor is let go.
"""

import os
import time
import uuid
from pathlib import Path

import pytest
import requests

SLOW = 300
CONNECTIONS = 8  # fresh connections, so that every nginx worker serves some of them
# The transform location's `open_file_cache max=128 inactive=5s` (NginxSiteTemplate.swift).
KEPT_OPEN = 128
INACTIVE_S = 5


def fresh_get(stack, path: str) -> requests.Response:
    """A GET on a new connection (no session): lands on whichever nginx worker accepts it."""
    return requests.get(stack.url(path), timeout=SLOW, allow_redirects=False)


def hit_everywhere(stack, tools, path: str) -> bytes:
    first = fresh_get(stack, path)
    assert first.status_code == 200, tools.describe(first)
    for _ in range(CONNECTIONS):
        r = fresh_get(stack, path)
        assert r.status_code == 200 and r.headers.get("X-Cache") == "HIT", tools.describe(r)
        assert r.content == first.content
    return first.content


def cached_file(stack, image_id: str, tail: str) -> Path:
    """The derived file on disk for /images/{id}/{tail}, wherever the layout puts it."""
    for root, _dirs, files in os.walk(stack.cache_dir):
        for name in files:
            full = Path(root, name)
            if full.as_posix().endswith(f"{image_id}/{tail}"):
                return full
    raise AssertionError(f"no cached file for {image_id}/{tail} under {stack.cache_dir}")


def test_delete_after_hits_is_404_on_every_connection(stack, tools):
    obj = stack.upload_ok(tools.png(tools.gradient(120, 80, seed=301)))
    path = f"/images/{obj['id']}/resize:60x.webp"
    hit_everywhere(stack, tools, path)
    d = stack.delete(f"/images/{obj['id']}")
    assert d.status_code == 204, tools.describe(d)
    for _ in range(CONNECTIONS):
        tools.json_error(fresh_get(stack, path), 404)


def held_removed_files(stack) -> list[str]:
    """Files under the stack's cache directory that its nginx processes hold open though
    they were removed (their blocks stay used until closed)."""
    held = []
    for pid in stack.leftovers():
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "nginx":
                continue
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in descriptors:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(stack.cache_dir)) and target.endswith(" (deleted)"):
                held.append(target)
    return held


def hit_removed_files(stack, tools) -> None:
    """Four derived files hit on every worker, then removed by a delete of their image."""
    obj = stack.upload_ok(tools.png(tools.gradient(160, 120, seed=305)))
    for width in (40, 50, 60, 70):
        hit_everywhere(stack, tools, f"/images/{obj['id']}/resize:{width}x.png")
    d = stack.delete(f"/images/{obj['id']}")
    assert d.status_code == 204, tools.describe(d)


def test_removed_cache_files_are_let_go_by_later_hits(stack, tools):
    """A removed file's descriptor kept its blocks (a cache 1.9× over its limit, found by a
    black-box probe): an entry unused for `inactive` seconds is closed by the next hits,
    two a hit, on the worker that keeps it (however many workers, and however many entries
    earlier tests left them: hits until none is held, within a bound)."""
    other = stack.upload_ok(tools.png(tools.gradient(90, 60, seed=306)))
    other_path = f"/images/{other['id']}/flip:v.png"
    hit_everywhere(stack, tools, other_path)
    hit_removed_files(stack, tools)
    time.sleep(INACTIVE_S + 1.5)
    for _ in range(KEPT_OPEN // 2):
        hit_everywhere(stack, tools, other_path)
        if not held_removed_files(stack):
            break
    assert held_removed_files(stack) == []


def test_removed_cache_files_are_let_go_by_misses_alone(stack, tools):
    """A cache disk that had filled stayed full, every request a miss: misses are kept too,
    so that misses of URLs a worker has not seen push its oldest entries out once it keeps
    `KEPT_OPEN`, hits or not (misses until none is held, within a bound)."""
    hit_removed_files(stack, tools)
    for _ in range(16):
        for _ in range(KEPT_OPEN // 2):
            missing = uuid.uuid4().hex[:22]
            tools.json_error(fresh_get(stack, f"/images/{missing}/resize:10x.png"), 404)
        if not held_removed_files(stack):
            break
    assert held_removed_files(stack) == []


def test_wiped_cache_file_is_made_again(stack, tools):
    obj = stack.upload_ok(tools.png(tools.gradient(120, 80, seed=302)))
    path = f"/images/{obj['id']}/flip:h.png"
    before = hit_everywhere(stack, tools, path)
    cached_file(stack, obj["id"], "flip:h.png").unlink()
    r = fresh_get(stack, path)
    assert r.status_code == 200 and r.headers.get("X-Cache") == "MISS", tools.describe(r)
    assert tools.same_pixels(tools.decode(r.content), tools.decode(before))
    assert hit_everywhere(stack, tools, path) == r.content


def test_replaced_cache_file_is_served_new(stack, tools):
    """A file renamed over the cached one (what a worker's atomic write does) is what every
    connection gets next, not the descriptor nginx kept open on the old one."""
    obj = stack.upload_ok(tools.png(tools.gradient(120, 80, seed=303)))
    path = f"/images/{obj['id']}/grayscale.png"
    old = hit_everywhere(stack, tools, path)
    target = cached_file(stack, obj["id"], "grayscale.png")
    replacement = tools.png(tools.noise(9, 7, seed=304))
    assert replacement != old
    temporary = target.with_name(target.name + ".new")
    temporary.write_bytes(replacement)
    os.chmod(temporary, 0o644)
    os.rename(temporary, target)
    for _ in range(CONNECTIONS):
        r = fresh_get(stack, path)
        assert r.status_code == 200 and r.headers.get("X-Cache") == "HIT", tools.describe(r)
        assert r.content == replacement


@pytest.mark.parametrize("ext", ["png", "webp"])
def test_miss_with_its_instance_unreachable_is_a_json_502(stack, tools, ext):
    """The miss path's own errors are JSON too: nginx makes this 502 inside @miss, after
    the static handler's 404 was already turned into the miss."""
    obj = stack.upload_ok(tools.png(tools.gradient(40, 30, seed=305)))
    path = f"/images/{obj['id']}/rotate:90.{ext}"
    socket = stack.run_dir() / "rotate.sock"
    away = socket.with_name("rotate.sock.away")
    os.rename(socket, away)
    try:
        r = fresh_get(stack, path)
    finally:
        os.rename(away, socket)
    tools.json_error(r, 502, "instance_unavailable")
    ok = fresh_get(stack, path)
    assert ok.status_code == 200 and ok.headers.get("X-Cache") == "MISS", tools.describe(ok)
