"""Load and fault harness (issue: operations). A mixed workload at N connections against a
running stack — uploads, cache hits, misses across every role, deletes, lists — printing
req/s, p50/p99, errors and each role's peak RSS; used on demand (`bench/load/run.sh`, 60 s at
32 connections) and, shortened, by tests/integration/test_load.py.

Only the standard library and `requests`.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import struct
import threading
import time
import zlib
from collections import defaultdict
from pathlib import Path

import requests

import re

# The instance roles, one upstream each in the committed production site, which a unit test
# holds equal to what the code renders from the operation catalog (as tests/integration/
# siteroles.py reads them).
SITE = Path(__file__).resolve().parents[2] / "nginx" / "progimage.conf"
ROLES = re.findall(r"^upstream progimage_(\w+) \{", SITE.read_text(), re.M)


def small_png(seed: int, w: int = 64, h: int = 48) -> bytes:
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(w * 3)) for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def miss_tail(n: int) -> str:
    """A new derived URL each time, cycling through the roles that make images."""
    w = 16 + n % 400
    return [f"resize:{w}x.jpg", f"crop:0,0,{w % 60 + 1},{w % 40 + 1}.png", f"rotate:{n % 359 + 1}/resize:{w}x.webp",
            f"flip:h/resize:{w}x.png", f"grayscale/resize:{w}x.jpg", f"blur:{1 + n % 5}/resize:{w}x.jpg",
            f"sharpen:{1 + n % 99}/resize:{w}x.jpg", f"resize:{w}x.gif", f"resize:{w}x/pad:{n % 9},0,{n % 9},0.png"][n % 9]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []
        self.uploaded: set[str] = set()
        self.deleted: set[str] = set()

    def add(self, op: str, status: int, seconds: float, note: str = ""):
        with self.lock:
            self.latency[op].append(seconds)
            self.status[op][status] += 1
            if status == 0 or status >= 500:
                self.errors.append(f"{op} {status} {note}"[:300])


class RSSSampler(threading.Thread):
    """Peak resident memory of each role's instance, from /proc (pids from /health, re-read:
    instances recycle)."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.peak, self.stop = base, defaultdict(int), threading.Event()

    def run(self):
        while not self.stop.is_set():
            for role in ROLES:
                try:
                    pid = requests.get(f"{self.base}/health/{role}", timeout=2).json()["pid"]
                    for line in open(f"/proc/{pid}/status"):
                        if line.startswith("VmRSS:"):
                            self.peak[role] = max(self.peak[role], int(line.split()[1]) * 1024)
                except Exception:
                    pass
            self.stop.wait(0.5)


def mixed(base: str, seconds: float, connections: int, seed: int = 1) -> dict:
    """The mixed run. Returns the recorder's figures; never raises for a failed request."""
    rec = Recorder()
    setup = requests.Session()
    seeds = []
    for n in range(4):
        r = setup.post(f"{base}/images", data=small_png(10_000 + n), headers={"Content-Type": "image/png"}, timeout=60)
        r.raise_for_status()
        seeds.append(r.json()["id"])
    hits = [f"/images/{i}/resize:32x.jpg" for i in seeds] + [f"/images/{i}.png" for i in seeds]
    for path in hits:
        setup.get(base + path, timeout=60)
    counter = iter(range(10**9))
    counter_lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sampler = RSSSampler(base)
    sampler.start()

    def worker(k: int):
        rng = random.Random(seed * 1000 + k)
        http = requests.Session()
        mine: list[str] = []
        while time.monotonic() < deadline:
            with counter_lock:
                n = next(counter)
            roll = rng.random()
            started = time.monotonic()
            try:
                if roll < 0.10:
                    op = "upload"
                    r = http.post(f"{base}/images", data=small_png(n), headers={"Content-Type": "image/png"}, timeout=60)
                    if r.status_code == 201:
                        mine.append(r.json()["id"])
                        with rec.lock:
                            rec.uploaded.add(mine[-1])
                elif roll < 0.60:
                    op = "hit"
                    r = http.get(base + rng.choice(hits), timeout=60)
                elif roll < 0.85:
                    op = "miss"
                    r = http.get(f"{base}/images/{rng.choice(seeds)}/{miss_tail(n)}", timeout=120)
                elif roll < 0.90 and mine:
                    op = "delete"
                    victim = mine.pop(0)
                    r = http.delete(f"{base}/images/{victim}", timeout=60)
                    if r.status_code == 204:
                        with rec.lock:
                            rec.deleted.add(victim)
                elif roll < 0.95:
                    op = "list"
                    r = http.get(f"{base}/images?limit=20", timeout=60)
                else:
                    op = "metadata"
                    r = http.get(f"{base}/images/{rng.choice(seeds)}", timeout=60)
                rec.add(op, r.status_code, time.monotonic() - started, r.text[:120] if r.status_code >= 500 else "")
            except requests.RequestException as e:
                rec.add("transport", 0, time.monotonic() - started, str(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    # No lost uploads: every id answered 201 and not deleted is listed.
    listed, cursor = set(), None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = setup.get(f"{base}/images", params=params, timeout=60).json()
        listed |= {i["id"] for i in page["images"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    lost = sorted(rec.uploaded - rec.deleted - listed)
    resurrected = sorted(rec.deleted & listed)
    total = sum(len(v) for v in rec.latency.values())
    ops = {}
    for op, values in sorted(rec.latency.items()):
        values = sorted(values)
        ops[op] = {"count": len(values), "p50_ms": 1000 * statistics.median(values),
                   "p99_ms": 1000 * values[min(len(values) - 1, int(len(values) * 0.99))],
                   "status": dict(rec.status[op])}
    return {"seconds": elapsed, "connections": connections, "requests": total, "rps": total / elapsed, "ops": ops,
            "errors": rec.errors, "lost_uploads": lost, "resurrected": resurrected, "peak_rss": dict(sampler.peak)}


def report(result: dict) -> str:
    lines = [f"mixed run: {result['connections']} connections, {result['seconds']:.1f} s, {result['requests']} requests, "
             f"{result['rps']:.0f} req/s; 5xx/transport errors {len(result['errors'])}; lost uploads "
             f"{len(result['lost_uploads'])}; resurrected {len(result['resurrected'])}",
             f"  {'op':<10} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    for op, s in result["ops"].items():
        lines.append(f"  {op:<10} {s['count']:>7} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f}  {s['status']}")
    lines.append("  peak RSS per role (MB): " + ", ".join(f"{r} {b / 2**20:.0f}" for r, b in sorted(result["peak_rss"].items())))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base_url")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--connections", type=int, default=32)
    a = p.parse_args()
    result = mixed(a.base_url.rstrip("/"), a.seconds, a.connections)
    print(report(result))
    print(json.dumps({k: v for k, v in result.items() if k not in ("errors",)} | {"errors": result["errors"][:20]}))


if __name__ == "__main__":
    main()
