"""`progimage-fcgi check [--repair]`: records, originals and the cache compared, with the
service's own environment, while it runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import REPO_ROOT, SharedBackends, Stack, Tools

WORKER = REPO_ROOT / ".build" / "release" / "progimage-fcgi"


def check(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGIMAGE_", "AWS_"))}
    env.update(stack.backend_env)
    env.update(PROGIMAGE_DATA_DIR=str(stack.data_dir), PROGIMAGE_CACHE_DIR=str(stack.cache_dir))
    env.update(stack.extra_env)
    return subprocess.run([str(WORKER), "check", *args], env=env, capture_output=True, text=True, timeout=120)


def plant(path, data: bytes = b"orphan", age: int = 7200):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))


def test_check_reports_and_repair_moves_orphans_aside(stack_factory):
    stack = stack_factory({"PROGIMAGE_THREADS": "2"})  # a stack of its own: the check sees only its files
    image = stack.upload_ok(Tools.png(Tools.noise(20, 20, seed=1)))
    assert stack.get(f"/images/{image['id']}/resize:10x.png").status_code == 200
    orphan_id = Tools.random_id(16)
    orphan = stack.data_dir / "originals" / orphan_id[:2] / orphan_id[2:4] / f"{orphan_id}.png"
    plant(orphan)
    leftover = stack.data_dir / "originals" / ".tmp" / "tmp-crashed"
    plant(leftover)
    ghost_id = Tools.random_id(16)
    ghost = stack.cache_dir / ghost_id[:2] / ghost_id[2:4] / ghost_id
    plant(ghost / "resize:10x.png")
    os.utime(ghost, (time.time() - 7200,) * 2)

    r = check(stack)
    assert r.returncode == 1, r.stderr
    assert f"original-without-record {orphan}" in r.stdout
    assert f"temporary-file {leftover}" in r.stdout
    assert f"cache-without-record {ghost}" in r.stdout
    assert image["id"] not in r.stdout
    assert orphan.exists() and ghost.exists()  # a report changes nothing

    r = check(stack, "--repair")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not orphan.exists() and not leftover.exists() and not ghost.exists()
    assert not ghost.parent.exists(), "its shard folder, emptied, stays behind"
    lost = stack.data_dir / "lost+found"
    assert (lost / f"{orphan_id[2:4]}-{orphan_id}.png").read_bytes() == b"orphan"
    assert check(stack).returncode == 0
    # An orphan of the same name later goes beside what lost+found holds, not over it: a
    # probe saw the second repair replace the first orphan. A temporary file of the cache
    # (half a derived file) is removed, as orphaned cache is: moved, it could not cross to
    # another file system.
    plant(orphan, b"second")
    plant(leftover, b"third")
    cache_leftover = stack.cache_dir / ".tmp" / "tmp-crashed"
    plant(cache_leftover, b"fourth")
    r = check(stack)
    assert f"temporary-file {cache_leftover}" in r.stdout
    assert check(stack, "--repair").returncode == 0
    assert not cache_leftover.exists()
    assert (lost / f"{orphan_id[2:4]}-{orphan_id}.png").read_bytes() == b"orphan"
    assert (lost / f"{orphan_id[2:4]}-{orphan_id}.png.1").read_bytes() == b"second"
    kept = sorted(p.read_bytes() for p in lost.iterdir() if p.name.startswith(".tmp-tmp-crashed"))
    assert kept == [b"orphan", b"third"], kept
    r = stack.get(image["url"])
    assert r.status_code == 200 and stack.get(f"/images/{image['id']}").status_code == 200


def test_a_copy_of_a_recorded_original_in_another_shard_is_an_orphan(stack_factory):
    """A recorded original's copy in a shard folder that is not its own (moved by hand, a
    restore gone wrong) was not reported while its record stood (a black-box tester): nginx
    never serves it, and nothing records it there."""
    stack = stack_factory({"PROGIMAGE_THREADS": "2"})
    image = stack.upload_ok(Tools.png(Tools.noise(20, 20, seed=2)))
    iid = image["id"]
    own = stack.data_dir / "originals" / iid[:2] / iid[2:4] / f"{iid}.png"
    elsewhere = "zz" if iid[:2] != "zz" else "yy"
    stray = stack.data_dir / "originals" / elsewhere / iid[2:4] / f"{iid}.png"
    plant(stray, own.read_bytes())
    r = check(stack)
    assert r.returncode == 1 and f"original-without-record {stray}" in r.stdout, r.stdout + r.stderr
    assert str(own) not in r.stdout and "record-without-original" not in r.stdout, r.stdout
    assert check(stack, "--repair").returncode == 0
    assert own.exists() and not stray.exists() and stack.get(image["url"]).status_code == 200


@pytest.mark.parametrize("database", ["missing", "empty file", "unrelated tables"])
def test_check_without_a_database_repairs_nothing(tmp_path, database):
    """API.md: "With no database at all it reports that and repairs nothing." An empty
    file, or a SQLite file of someone else's, is no database of ours either: check made its
    tables in it, and `--repair` moved every original to lost+found (a black-box tester)."""
    if os.environ.get("PROGIMAGE_TEST_BACKENDS") == "distributed":
        return  # the distributed pass always has its database; the embedded pass checks this
    data = tmp_path / "data"
    original = data / "originals" / "ab" / "cd" / "abcdefghijklmnop.png"
    plant(original)
    db = data / "progimage.sqlite3"
    if database == "empty file":
        db.write_bytes(b"")
    elif database == "unrelated tables":
        with sqlite3.connect(db) as connection:
            connection.execute("CREATE TABLE notes (body TEXT)")
        connection.close()
    before = db.read_bytes() if db.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGIMAGE_", "AWS_"))}
    env.update(PROGIMAGE_DATA_DIR=str(data), PROGIMAGE_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([str(WORKER), "check", "--repair"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and ("no database" if database == "missing" else "no progimage tables") in r.stderr, r.stderr
    if database == "missing":
        # The originals a lost database strands are counted: the start had said only "no database".
        assert f"{data / 'originals'} holds 1 original(s)" in r.stderr, r.stderr
    assert original.exists() and not (data / "lost+found").exists()
    assert sorted(p.name for p in data.glob("*.sqlite3*")) == ([] if before is None else ["progimage.sqlite3"])
    assert (db.read_bytes() if db.exists() else None) == before, "check must not write to the database"


def test_check_of_an_empty_postgresql_database_repairs_nothing(tmp_path):
    if os.environ.get("PROGIMAGE_TEST_BACKENDS") != "distributed":
        return  # needs the suite's PostgreSQL
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGIMAGE_", "AWS_"))}
    env.update(SharedBackends.environment())  # a database and a bucket of their own, untouched
    data = tmp_path / "data"
    original = data / "originals" / "ab" / "cd" / "abcdefghijklmnop.png"
    plant(original)
    env.update(PROGIMAGE_DATA_DIR=str(data), PROGIMAGE_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([str(WORKER), "check", "--repair"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no progimage tables" in r.stderr, r.stderr
    assert original.exists() and not (data / "lost+found").exists()
    database = env["PROGIMAGE_DATABASE_URL"].rsplit("/", 1)[1]
    tables = SharedBackends.pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database=database)
    assert tables.strip() == "0", tables


def test_sigkill_during_uploads_leaves_whole_images_or_nothing(stack_factory):
    stack = stack_factory({"PROGIMAGE_THREADS": "2", "PROGIMAGE_RECYCLE_REQUESTS": "0"})
    body = Tools.png(Tools.noise(900, 900, seed=4))  # ~2.4 MB: long enough to be caught mid-way
    stop = threading.Event()

    def uploader():
        while not stop.is_set():
            try:
                stack.upload(body)
            except Exception:
                pass

    threads = [threading.Thread(target=uploader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            time.sleep(0.3)
            pid = stack.health("api").json()["pid"]
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    if stack.health("api").status_code == 200:
                        break
                except Exception:
                    pass
                time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    r = check(stack, "--repair", "--grace", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    # Afterwards: every record has its original bit for bit, every original its record.
    ids = stack.list_all_ids()
    for i in ids:
        meta = stack.get(f"/images/{i}").json()
        got = stack.get(meta["url"])
        assert got.status_code == 200 and Tools.sha256(got.content) == meta["sha256"]
    assert check(stack, "--grace", "0").returncode == 0
