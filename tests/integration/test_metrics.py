"""Prometheus metrics on PROGIMAGE_METRICS_PORT (loopback only): one scrape shows every
role's requests and durations, and the cache's HITs (which no instance sees) and MISSes,
within 5 s."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from conftest import Tools, _free_port, start_that_stops


def scrape(port: int) -> dict[str, float]:
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    series = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture(scope="module")
def metrics_stack(stack_factory):
    port = _free_port()
    stack = stack_factory({"PROGIMAGE_METRICS_PORT": str(port)})
    stack.metrics_port = port
    return stack


def test_one_scrape_counts_requests_hits_and_misses_of_every_role(metrics_stack):
    stack, port = metrics_stack, metrics_stack.metrics_port
    before = scrape(port)
    image = stack.upload_ok(Tools.png(Tools.noise(50, 40, seed=2)))
    paths = [f"/images/{image['id']}/resize:20x.png", f"/images/{image['id']}/flip:h.jpg", f"/images/{image['id']}.webp"]
    for path in paths:
        assert stack.get(path).headers["X-Cache"] == "MISS"
        for _ in range(3):
            assert stack.get(path).headers["X-Cache"] == "HIT"
    assert stack.get(image["url"]).headers["X-Cache"] == "HIT"  # an original: nginx alone
    stack.get("/images/AAAAAAAAAAAAAAAAAAAA")  # a 404 from the api

    def counted():
        now = scrape(port)
        d = lambda key: now.get(key, 0) - before.get(key, 0)  # noqa: E731
        return (d('progimage_cache_requests_total{result="hit"}') >= 10
                and d('progimage_cache_requests_total{result="miss"}') >= 3
                and d('progimage_requests_total{role="api",slot="0",status="201"}') >= 1
                and d('progimage_requests_total{role="api",slot="0",status="404"}') >= 1
                and d('progimage_requests_total{role="resize",slot="0",status="200"}') >= 1
                and d('progimage_requests_total{role="flip",slot="0",status="200"}') >= 1
                and d('progimage_requests_total{role="convert",slot="0",status="200"}') >= 1) and now
    now = wait_for(counted)
    assert now, f"not counted within 5 s: {scrape(port)}"
    assert now['progimage_request_duration_seconds_count{role="resize",slot="0"}'] >= 1
    assert now['progimage_request_duration_seconds_bucket{role="resize",slot="0",le="+Inf"}'] == \
        now['progimage_request_duration_seconds_count{role="resize",slot="0"}']
    assert now["progimage_cache_bytes"] > 0
    assert any(k.startswith("progimage_instance_restarts_total") for k in now)


def test_metrics_are_not_on_the_public_port(metrics_stack):
    r = metrics_stack.get("/metrics")
    assert r.status_code == 404
    r = metrics_stack.get("/_progimage/metrics")
    assert r.status_code == 404 and "progimage_requests_total" not in r.text
    # Nor anything but /metrics on the metrics port, answered in JSON as every error is.
    for path in ("/", "/images/AAAAAAAAAAAAAAAA", "/health/api", "/metrics/x"):
        r = requests.get(f"http://127.0.0.1:{metrics_stack.metrics_port}{path}", timeout=10)
        Tools.json_error(r, 404, "not_found")


def test_counters_survive_a_recycled_instance(metrics_stack):
    stack, port = metrics_stack, metrics_stack.metrics_port
    key = 'progimage_instance_restarts_total{role="resize",slot="0"}'
    image = stack.upload_ok(Tools.png(Tools.noise(30, 30, seed=3)))
    stack.get(f"/images/{image['id']}/resize:10x.png")
    ok = 'progimage_requests_total{role="resize",slot="0",status="200"}'
    before = wait_for(lambda: (s := scrape(port)).get(ok) and s)
    import os, signal
    os.kill(stack.health("resize").json()["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if stack.health("resize").status_code == 200:
                break
        except Exception:
            pass
        time.sleep(0.2)
    after = wait_for(lambda: (s := scrape(port)).get(key, 0) > before.get(key, 0) and s)
    assert after, "the restart was not counted"
    assert after[ok] >= before[ok], "a counter went backwards"


def test_answers_just_before_a_crash_are_counted(metrics_stack):
    """The counters were written once a second: a SIGKILL right after 20 answers had
    counted 1 to 3 of them (a black-box probe). Each answer is written as it goes."""
    import os, signal
    stack, port = metrics_stack, metrics_stack.metrics_port
    image = stack.upload_ok(Tools.png(Tools.noise(60, 60, seed=4)))
    ok = 'progimage_requests_total{role="crop",slot="0",status="200"}'
    stack.get(f"/images/{image['id']}/crop:0,0,5,5.png")
    before = wait_for(lambda: (s := scrape(port)).get(ok) and s)
    for i in range(20):
        assert stack.get(f"/images/{image['id']}/crop:{i},1,10,10.png").status_code == 200
    # The write is queued after each answer, not awaited by it: on disk within moments
    # (it was up to a second), so the crash right after loses nothing.
    saved = stack.cache_dir / ".metrics" / "crop-0.json"
    assert wait_for(lambda: json.loads(saved.read_text())["requests"].get("200", 0) >= before[ok] + 20, timeout=0.3)
    os.kill(stack.health("crop").json()["pid"], signal.SIGKILL)
    assert wait_for(lambda: stack.health("crop").status_code == 200, timeout=15)
    after = wait_for(lambda: (s := scrape(port)).get(ok, 0) >= before[ok] + 20 and s, timeout=10)
    assert after, (before[ok], scrape(port).get(ok))


def test_hits_and_misses_are_still_counted_after_the_cache_is_wiped(metrics_stack):
    """Derived files are disposable: an operator may empty the cache directory while the
    box runs, its metrics folder with it. nginx went on logging to the deleted file and the
    hit and miss counts stopped for good; the supervisor now has it reopen its log."""
    import shutil
    stack, port = metrics_stack, metrics_stack.metrics_port
    image = stack.upload_ok(Tools.png(Tools.noise(30, 20, seed=4)))
    path = f"/images/{image['id']}/resize:10x.png"
    stack.get(path)
    for entry in stack.cache_dir.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    time.sleep(2.5)  # the supervisor looks once a second
    before = scrape(port)
    hit = 'progimage_cache_requests_total{result="hit"}'
    miss = 'progimage_cache_requests_total{result="miss"}'
    assert stack.get(path).headers["X-Cache"] == "MISS"
    for _ in range(4):
        assert stack.get(path).headers["X-Cache"] == "HIT"
    now = wait_for(lambda: (s := scrape(port)).get(hit, 0) >= before.get(hit, 0) + 4
                   and s.get(miss, 0) >= before.get(miss, 0) + 1 and s)
    assert now, f"not counted within 5 s of the wipe: {before} then {scrape(port)}"


@pytest.mark.processes_only
def test_a_scrape_of_a_stopped_api_ends_before_prometheus_gives_up_as_json(metrics_stack):
    """The listener passes /metrics to the api instance: with it stopped (SIGSTOP), a scrape
    had hung 60 s and ended in nginx's HTML 504 (a black-box tester). It ends within
    Prometheus's default 10 s scrape timeout now, as the public port's errors do: JSON."""
    import os, signal
    from backends import wait_until_stopped
    stack, port = metrics_stack, metrics_stack.metrics_port
    pid = stack.health("api").json()["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until_stopped([pid])
        started = time.monotonic()
        r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took < 10, took
    assert r.status_code == 504 and r.headers["Content-Type"] == "application/json", (r.status_code, r.headers, r.text)
    assert r.json()["error"]["code"] == "timeout" and r.headers["Cache-Control"] == "no-store"
    assert wait_for(lambda: scrape(port), timeout=10)


def test_a_metrics_port_already_taken_stops_the_start(tmp_path):
    """nginx could not bind it and was restarted for ever while the stack said it served:
    the start now stops, naming the variable, as it does for a taken PROGIMAGE_PORT."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = start_that_stops({"PROGIMAGE_METRICS_PORT": str(taken.getsockname()[1])}, tmp_path)
    assert r.returncode != 0 and "PROGIMAGE_METRICS_PORT" in r.stderr, (r.returncode, r.stderr[-500:])
