"""The embedded store (SQLite and local disk) when an instance dies mid-delete or an original
goes missing. A black-box tester killed the api instance inside a DELETE, after its record was
gone and before its files were: the original and its derived files stayed served by nginx for
good, and a retried DELETE answered 404 and removed nothing. And an original removed by hand
was answered as an image that does not exist, with nothing in the log.

The state a crash leaves is made here by hand on the real database (the record gone, the
delete journaled as the api's own transaction journals it), since the window is microseconds.
Distributed stacks do this through PostgreSQL's deletion log (test_cluster.py).

And `progimage-fcgi check` on this store: it waits for the uploads and deletes in flight
instead of giving every file ten minutes' grace, so an orphan is reported as soon as it
exists and a write in flight never is."""

import sqlite3
import subprocess
import threading
import time

from conftest import Tools, corpus_bytes
from test_check import check


def _cut_short_delete(stack, iid: str) -> None:
    """What a DELETE leaves when its instance dies right after its transaction."""
    with sqlite3.connect(stack.data_dir / "progimage.sqlite3", timeout=10) as db:
        (fmt,) = db.execute("SELECT format FROM images WHERE id = ?", (iid,)).fetchone()
        db.execute("DELETE FROM images WHERE id = ?", (iid,))
        db.execute("INSERT INTO deletions (id, format, files_removed) VALUES (?, ?, 0)", (iid, fmt))


def _cut_short(stack, tools, iid: str) -> None:
    """A derived file made, then the delete cut short: no record, and every file still
    where nginx serves it."""
    r = stack.get(f"/images/{iid}/resize:40x.png")
    assert r.status_code == 200, tools.describe(r)
    _cut_short_delete(stack, iid)
    assert stack.get(f"/images/{iid}").status_code == 404
    for path in (f"/images/{iid}.jpg", f"/images/{iid}/resize:40x.png"):
        r = stack.get(path)
        assert r.status_code == 200 and r.headers.get("X-Cache") == "HIT", tools.describe(r)


def _all_gone(stack, tools, iid: str) -> None:
    for path in (f"/images/{iid}.jpg", f"/images/{iid}/resize:40x.png", f"/images/{iid}.webp"):
        tools.json_error(stack.get(path), 404, "not_found")
    assert not [f for f in stack.files_under(stack.data_dir) if iid in str(f)]
    assert not [f for f in stack.files_under(stack.cache_dir) if iid in str(f)]


def test_a_retried_delete_removes_what_a_cut_short_one_left(stack, tools):
    iid = stack.upload_ok(corpus_bytes("jpeg/exif-orientation/Landscape_1.jpg"), "cut.jpg", "image/jpeg")["id"]
    _cut_short(stack, tools, iid)
    tools.json_error(stack.delete(f"/images/{iid}"), 404, "not_found")
    _all_gone(stack, tools, iid)


def test_a_restarted_api_instance_finishes_a_cut_short_delete(stack, tools):
    iid = stack.upload_ok(corpus_bytes("jpeg/exif-orientation/Landscape_1.jpg"), "cut.jpg", "image/jpeg")["id"]
    _cut_short(stack, tools, iid)
    stack.kill_instance("api")
    _all_gone(stack, tools, iid)


def test_a_lost_original_is_the_service_s_error_not_a_missing_image(stack, tools):
    obj = stack.upload_ok(corpus_bytes("jpeg/exif-orientation/Landscape_1.jpg"), "lost.jpg", "image/jpeg")
    iid = obj["id"]
    [original] = [f for f in stack.files_under(stack.data_dir) if f.endswith(f"/{iid}.jpg")]
    (stack.data_dir / original).unlink()
    for path in (f"/images/{iid}/resize:40x.png", f"/images/{iid}.webp"):
        tools.json_error(stack.get(path), 500, "internal_error")
    assert f"the original of {iid} is recorded but missing" in stack.log_tail(2000)
    # Removed for good through the API, it is gone as any deleted image is.
    assert stack.delete(f"/images/{iid}").status_code == 204
    tools.json_error(stack.get(f"/images/{iid}.webp"), 404, "not_found")


def test_a_database_removed_under_the_running_service_refuses_writes_until_it_is_back(stack_factory, tools):
    """`rm progimage.sqlite3*` with the service running: each instance kept the unlinked file
    open, uploads were answered 201 into it and lost when the api restarted on a new empty
    database, and health said "ok" (a black-box tester). Every statement is now `503
    storage_unavailable`, as for an unreachable database, health says so, and the database
    put back serves again, the upload made before the removal still there."""
    stack = stack_factory({})
    kept = stack.upload_ok(tools.png(tools.noise(20, 20, seed=7)))
    database = stack.data_dir / "progimage.sqlite3"
    moved = stack.data_dir.parent / "moved.sqlite3"
    database.rename(moved)
    try:
        r = stack.upload(tools.png(tools.noise(20, 20, seed=8)))
        tools.json_error(r, 503, "storage_unavailable")
        assert r.headers.get("Cache-Control") == "no-store", tools.describe(r)
        tools.json_error(stack.get(f"/images/{kept['id']}"), 503, "storage_unavailable")
        health = stack.health("api")
        assert health.status_code == 200 and health.json()["database"] == "unavailable", health.text
        assert not database.exists(), "a new empty database was made"
    finally:
        moved.rename(database)
    assert stack.health("api").json()["database"] == "ok"
    assert stack.get(f"/images/{kept['id']}").json() == kept
    again = stack.upload_ok(tools.png(tools.noise(20, 20, seed=9)))
    assert [image["id"] for image in stack.get("/images?limit=2").json()["images"]] == [again["id"], kept["id"]]


def test_check_reports_a_fresh_orphan_at_once_and_no_upload_or_delete_in_flight(stack_factory):
    """A black-box tester planted an original without a record and a crashed writer's
    temporary file, then ran `check`: nothing was reported until the files were ten minutes
    old (the grace that kept uploads in flight from looking orphaned), the service stopped
    or not. Now, with uploads and deletes running throughout, every check reports exactly
    what was planted."""
    stack = stack_factory({"PROGIMAGE_THREADS": "2"})  # a stack of its own: the check sees only its files
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process now
    orphan_id = Tools.random_id(16)
    planted = {
        "original-without-record": stack.data_dir / "originals" / orphan_id[:2] / orphan_id[2:4] / f"{orphan_id}.png",
        "temporary-file": stack.data_dir / "originals" / ".tmp" / f"tmp-{gone.pid}-aB3dE9",
    }
    stranger = stack.cache_dir / ".tmp" / "upload-999999-abc.tmp"  # a shape no writer here makes
    for path in [*planted.values(), stranger]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
    expected = {f"{kind} {path}" for kind, path in planted.items()} | {f"temporary-file {stranger}"}

    body = Tools.png(Tools.noise(300, 300, seed=5))
    stop = threading.Event()
    failures = []

    def upload_and_delete():
        while not stop.is_set():
            r = stack.upload(body)
            if r.status_code != 201:
                failures.append(r.status_code)
                continue
            if stack.delete(f"/images/{r.json()['id']}").status_code != 204:
                failures.append("delete")

    writers = [threading.Thread(target=upload_and_delete) for _ in range(2)]
    for t in writers:
        t.start()
    reports = []
    try:
        started = time.monotonic()
        while len(reports) < 6 or time.monotonic() - started < 3:  # checks throughout a few hundred writes
            reports.append(check(stack))
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert not failures, failures
    for r in reports:
        assert r.returncode == 1, r.stdout + r.stderr
        assert "never paused" not in r.stderr, r.stderr  # it judged under the lock, not by age
        assert set(r.stdout.splitlines()) == expected, r.stdout
    r = check(stack, "--repair")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not any(p.exists() for p in [*planted.values(), stranger])
    assert check(stack).returncode == 0


def test_a_full_data_disk_still_takes_deletes_and_refuses_uploads_cleanly():
    """SQLite writes its journal to remove a row: on a data disk with no byte left every
    DELETE answered 507 "no space left to store the image", so the one request that frees
    space could not run (a black-box probe on an 8 MB tmpfs, reproduced after restarts). A
    megabyte kept aside (`.space-reserve`) is given back to such a delete and made again
    after it. An upload that does not fit is a JSON 507 and leaves nothing behind."""
    import os

    from conftest import Stack, tmpfs
    with tmpfs("8m") as mount:
        stack = Stack({"PROGIMAGE_DATA_DIR": str(mount)})
        stack.data_dir = mount
        try:
            stack.start()
            reserve = mount / ".space-reserve"
            assert reserve.stat().st_blocks * 512 >= 1 << 20
            images = [stack.upload_ok(Tools.png(Tools.noise(1000, 800, seed=60 + n))) for n in range(2)]
            # Fill the rest of the disk.
            free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
            with open(mount / "filler", "wb") as filler:
                filler.write(b"\0" * free)
            while True:  # tmpfs may leave a page or two
                try:
                    with open(mount / f"filler-{time.monotonic_ns()}", "wb") as more:
                        more.write(b"\0" * 4096)
                except OSError:
                    break
            r = stack.upload(Tools.png(Tools.noise(300, 200, seed=70)))
            Tools.json_error(r, 507, "insufficient_storage")
            assert r.headers.get("Cache-Control") == "no-store"
            r = stack.delete(f"/images/{images[0]['id']}")
            assert r.status_code == 204, Tools.describe(r)
            assert stack.get(f"/images/{images[0]['id']}").status_code == 404
            assert stack.get(f"/images/{images[1]['id']}.png").status_code == 200
            assert not [p for p in (mount / "originals").rglob("*") if p.is_file() and images[0]["id"] in p.name]
            # The original's space paid the reserve back, and an upload never takes it.
            assert reserve.stat().st_blocks * 512 >= 1 << 20
            for path in mount.glob("filler-*"):
                path.unlink()
            free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
            r = stack.upload(Tools.png(Tools.noise(300, 200, seed=71)))
            assert r.status_code in (201, 507), Tools.describe(r)
            assert reserve.stat().st_blocks * 512 >= 1 << 20, f"an upload took the reserve ({free} bytes were free)"
            r = stack.delete(f"/images/{images[1]['id']}")
            assert r.status_code == 204, Tools.describe(r)
        finally:
            problems = stack.stop()
            stack.cleanup_files()
    assert not problems, problems


def test_images_stored_before_the_placeholder_fields_are_given_them():
    """A data directory from before the image object had `blurhash`, `has_alpha` and
    `frames` (2026-12-05): its table lacks the columns, which an upgrade added with
    defaults, so an alpha PNG uploaded before read as opaque (and `.auto` chose JPEG for
    it), an animated GIF as a still, and neither had a placeholder. The api instance gives
    such records, in the background as it starts, what an upload of the same bytes gets."""
    import io

    from PIL import Image

    from conftest import Stack

    alpha = Image.new("RGBA", (48, 32), (200, 40, 20, 255))
    alpha.paste((0, 0, 0, 0), (0, 0, 24, 32))
    frames = [Image.new("P", (30, 20), i) for i in range(3)]
    for i, frame in enumerate(frames):
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    old = {Tools.random_id(16, seed=1): ("png", Tools.png(alpha), 48, 32),
           Tools.random_id(16, seed=2): ("gif", animated.getvalue(), 30, 20)}

    stack = Stack({"PROGIMAGE_THREADS": "2"})
    try:
        # The schema and layout of that time, written as its service wrote them.
        with sqlite3.connect(stack.data_dir / "progimage.sqlite3") as db:
            db.execute("""CREATE TABLE images (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                          filename TEXT, format TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
                          bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL, source_url TEXT)""")
            for iid, (fmt, data, width, height) in old.items():
                db.execute("INSERT INTO images (id, filename, format, width, height, bytes, sha256, created_at)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, '2026-12-04T10:00:00Z')",
                           (iid, f"old.{fmt}", fmt, width, height, len(data), Tools.sha256(data)))
                path = stack.data_dir / "originals" / iid[:2] / iid[2:4] / f"{iid}.{fmt}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        stack.start()
        deadline = time.monotonic() + 30
        records = {}
        while time.monotonic() < deadline:
            records = {iid: stack.get(f"/images/{iid}").json() for iid in old}
            if all(r.get("blurhash") for r in records.values()):
                break
            time.sleep(0.2)
        for iid, (fmt, data, _, _) in old.items():
            fresh = stack.upload_ok(data)
            for field in ("blurhash", "frames", "width", "height", "bytes", "sha256"):
                assert records[iid].get(field) == fresh[field], (fmt, field, records[iid], fresh)
            assert records[iid]["created_at"] == "2026-12-04T10:00:00Z"
            assert stack.get(f"/images/{iid}.{fmt}").content == data
            # Alpha is not in the image object; `.auto` for a browser of neither AVIF nor
            # WebP shows it: PNG for an image with alpha, else JPEG.
            auto = stack.get(f"/images/{iid}.auto", headers={"Accept": "image/png,image/*"}, allow_redirects=False)
            fresh_auto = stack.get(f"/images/{fresh['id']}.auto", headers={"Accept": "image/png,image/*"},
                                   allow_redirects=False)
            assert auto.status_code == 302 and auto.headers["Location"].rsplit(".", 1)[1] == \
                fresh_auto.headers["Location"].rsplit(".", 1)[1], (fmt, auto.headers, fresh_auto.headers)
        png_id, gif_id = old
        assert records[gif_id]["frames"] == 3
        # Looked for at every start of the api instance: by an index, not a read of the table.
        with sqlite3.connect(stack.data_dir / "progimage.sqlite3", timeout=10) as db:
            plan = " ".join(str(row) for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM images WHERE blurhash IS NULL AND seq > 0 ORDER BY seq LIMIT 100"))
        assert "images_without_placeholders" in plan, plan
        assert stack.get(f"/images/{png_id}.auto", headers={"Accept": "image/png,image/*"},
                         allow_redirects=False).headers["Location"].endswith(".png")
    finally:
        problems = stack.stop()
        stack.cleanup_files()
    assert not problems, problems
