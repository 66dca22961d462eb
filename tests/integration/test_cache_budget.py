"""The derived-image cache stays within PROGIMAGE_CACHE_MAX_BYTES as it fills, and a full
disk never refuses a derived image (API.md, "More than one box, and operations").

The cache lives on a 4 MB tmpfs with a 3 MB budget: a real small disk, so a full-size PNG
of a 2 MP photo (larger than the whole disk) meets a real ENOSPC."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import Stack, Tools, tmpfs

BUDGET = 3_000_000


def used_bytes(root: Path) -> int:
    """What the cache's files take on disk (blocks), its own bookkeeping folder aside."""
    total = 0
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".locks"]
        for f in files:
            try:
                total += os.lstat(os.path.join(base, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


@pytest.fixture(scope="module")
def small_disk_stack():
    with tmpfs("4m") as mount:
        stack = Stack({"PROGIMAGE_CACHE_DIR": str(mount), "PROGIMAGE_CACHE_MAX_BYTES": str(BUDGET)})
        stack.cache_dir = mount
        stack.start()
        yield stack
        problems = stack.stop()
        stack.cleanup_files()
    assert not problems, problems


def test_every_derived_image_is_answered_and_the_cache_keeps_its_budget(small_disk_stack):
    stack = small_disk_stack
    photo = Image.effect_mandelbrot((1920, 1080), (-2.2, -1.2, 1.0, 1.2), 200).convert("RGB")
    noise = Tools.noise(1920, 1080, seed=3)
    photo = Image.blend(photo, noise, 0.5)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    image = stack.upload_ok(buf.getvalue(), "photo.jpg")
    i = image["id"]
    tails = [f".{ext}" for ext in ("png", "webp", "bmp", "tiff", "gif", "avif")]
    tails += [f"/resize:{w}x.{ext}" for w in range(200, 1900, 100) for ext in ("jpg", "webp", "png")]
    peak = 0
    for tail in tails:
        path = f"/images/{i}{tail}"
        r = stack.get(path)
        assert r.status_code == 200, f"{path}: {Tools.describe(r)}"
        assert r.headers["X-Cache"] == "MISS"
        Image.open(io.BytesIO(r.content)).load()
        peak = max(peak, used_bytes(stack.cache_dir))
    # Evictions run in the background; give the last one a moment.
    deadline = time.monotonic() + 10
    while used_bytes(stack.cache_dir) > BUDGET and time.monotonic() < deadline:
        time.sleep(0.2)
    assert used_bytes(stack.cache_dir) <= BUDGET, f"cache at {used_bytes(stack.cache_dir)} bytes, budget {BUDGET}"
    # The disk (4 MB) was never over-filled by kept files: the budget held as it filled.
    assert peak <= 4 * 1024 * 1024
    # A derived image bigger than the whole disk was answered without being kept.
    assert not (stack.cache_dir / i[:2] / i[2:4] / i / f"{i}.bmp").exists()
    r = stack.get(f"/images/{i}/resize:300x.jpg")
    assert r.status_code == 200


def test_a_budget_of_zero_keeps_nothing(stack_factory, tools):
    """`PROGIMAGE_CACHE_MAX_BYTES=0` meant no limit while files were written (a black-box
    probe: five derived files kept, then served as HITs) and everything to the hourly
    prune. It keeps nothing now: every request is rendered and answered with the bytes."""
    stack = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": "0"})
    obj = stack.upload_ok(tools.png(Tools.noise(300, 200, seed=5)))
    for _ in range(2):
        r = stack.get(f"/images/{obj['id']}/resize:50x.png")
        assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", Tools.describe(r)
        assert Image.open(io.BytesIO(r.content)).size == (50, 33)
    assert stack.get(obj["url"]).status_code == 200
    assert used_bytes(Path(stack.cache_dir)) == 0


def test_a_cache_disk_smaller_than_its_budget_is_evicted_when_full():
    """ENOSPC starts an eviction, which went down to 80 % of the budget: on a disk smaller
    than the budget (an 8 MB tmpfs under the default) it had nothing to do, the disk stayed
    full, and every new URL was rendered and never kept (a black-box probe). It now goes
    down to four fifths of what the cache holds."""
    with tmpfs("4m") as mount:
        stack = Stack({"PROGIMAGE_CACHE_DIR": str(mount)})
        stack.cache_dir = mount
        try:
            stack.start()
            image = stack.upload_ok(Tools.png(Tools.noise(640, 480, seed=11)))
            for n in range(9):  # ~600 KB each: the disk is full after six or so
                assert stack.get(f"/images/{image['id']}/crop:{n},0,600,480.png").status_code == 200
            time.sleep(5.5)  # past the seconds a new file is never evicted
            kept = False
            for n in range(20, 30):
                path = f"/images/{image['id']}/crop:{n},0,600,480.png"
                assert stack.get(path).status_code == 200
                time.sleep(0.3)
                stack.get(path)  # kept now, if the eviction the first one started made room
                if stack.get(path).headers["X-Cache"] == "HIT":
                    kept = True
                    break
            assert kept, "the full cache disk was never evicted: no new file kept"
        finally:
            problems = stack.stop()
            stack.cleanup_files()
    assert not problems, problems


def disk_use(root: Path) -> int:
    """What `du` says the cache takes, folders included, its bookkeeping folders aside."""
    total = 0
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (base == str(root) and d.startswith("."))]
        for name in dirs + files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def test_the_budget_counts_the_folders_of_chains_too(tmp_path):
    """Each `crop:…/grayscale.png` file sits in a folder of its own: on a disk whose
    folders take a block (ext4: 4 KB), a burst of tiny ones took twice the budget while
    the files alone stayed within it (a black-box tester). On the disk the suite runs on."""
    budget = 400_000
    stack = Stack({"PROGIMAGE_CACHE_MAX_BYTES": str(budget), "PROGIMAGE_THREADS": "2"})
    stack.start()
    try:
        image = stack.upload_ok(Tools.png(Tools.noise(64, 64, seed=9)))
        peak = 0
        for n in range(1, 121):
            r = stack.get(f"/images/{image['id']}/crop:0,0,{n % 60 + 1},{n // 60 + 1}/grayscale.png")
            assert r.status_code == 200, Tools.describe(r)
            peak = max(peak, disk_use(stack.cache_dir))
        time.sleep(6)  # what was too recent to evict is not any more
        stack.get(f"/images/{image['id']}/crop:0,0,1,3/grayscale.png")
        deadline = time.monotonic() + 10
        while disk_use(stack.cache_dir) > budget and time.monotonic() < deadline:
            time.sleep(0.2)
        assert peak <= budget + 64 * 1024, peak  # the root's own few folders, uncounted
        assert disk_use(stack.cache_dir) <= budget
    finally:
        problems = stack.stop()
        stack.cleanup_files()
    assert not problems, problems


def test_prune_leaves_the_usage_counter_at_what_it_measured(stack_factory):
    """`progimage-fcgi prune` left the shared usage counter where it was: after it emptied
    the cache, the next file that fitted the budget was answered from memory and not kept
    until an eviction pass measured again (a black-box tester). Its pass now sets the counter
    as an eviction does."""
    import subprocess
    from test_check import WORKER
    stack = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": "1000000"})
    image = stack.upload_ok(Tools.png(Tools.noise(300, 300, seed=71)))
    for size in range(140, 300, 20):  # noisy PNGs of ~60–270 KB each, up to the budget's edge
        stack.get(f"/images/{image['id']}/resize:{size}x.png")
    counter = stack.cache_dir / ".locks" / "usage"
    before = int(counter.read_text().split()[0])
    assert before > 500_000
    # A pass never removes a file used in the last 5 s (nginx may be about to send it),
    # counted in whole seconds: 5.5 s left a file made at x.3 protected half the time.
    time.sleep(7)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGIMAGE_", "AWS_"))}
    env.update(stack.backend_env, **stack.extra_env, PROGIMAGE_DATA_DIR=str(stack.data_dir),
               PROGIMAGE_CACHE_DIR=str(stack.cache_dir))
    pruned = subprocess.run([str(WORKER), "prune", "--max-bytes", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    assert int(counter.read_text().split()[0]) < 100_000, (before, counter.read_text(), pruned.stderr[-400:])
    big = f"/images/{image['id']}/resize:299x.png"
    assert stack.get(big).headers["X-Cache"] == "MISS"
    r = stack.get(big)
    assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", Tools.describe(r)
