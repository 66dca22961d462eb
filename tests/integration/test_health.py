"""GET /health/{type}: one answer per instance type, from that instance."""

import time

import pytest

import siteroles
from backends import wait_until_stopped

INSTANCE_TYPES = siteroles.roles()


@pytest.mark.parametrize("itype", INSTANCE_TYPES)
def test_health_each_type(stack, tools, itype):
    r = stack.health(itype)
    assert r.status_code == 200, tools.describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", tools.describe(r)
    assert r.headers.get("X-Progimage-Instance") == itype, tools.describe(r)
    body = r.json()
    assert body.get("instance") == itype, body
    assert body.get("status") == "ok", body
    assert type(body.get("pid")) is int and body["pid"] > 1, body
    up = body.get("uptime_s")
    assert isinstance(up, (int, float)) and not isinstance(up, bool) and up >= 0, body


def test_health_pids_are_distinct_processes(stack):
    """One process per role: every type answers with its own pid."""
    pids = {t: stack.health(t).json()["pid"] for t in INSTANCE_TYPES}
    assert len(set(pids.values())) == len(INSTANCE_TYPES), pids


def test_health_uptime_grows(stack):
    a = stack.health("convert").json()
    time.sleep(0.3)
    b = stack.health("convert").json()
    if a["pid"] == b["pid"]:
        assert b["uptime_s"] >= a["uptime_s"], (a, b)


@pytest.mark.parametrize("path", ["/health/nope", "/health/API", "/health/", "/health/api/extra"])
def test_health_unknown_type_404(stack, tools, path):
    r = stack.get(path)
    tools.json_error(r, 404, "not_found")


@pytest.mark.processes_only
def test_a_hung_instance_is_a_timeout_in_seconds(stack, tools):
    """An instance that accepts but never answers (stopped) made its /health wait the 300 s
    a slow miss may take; a health check answers at once or not at all, so nginx gives up
    after 10 s with the contract's `504 timeout`, and the instance answers again once it
    runs."""
    import os
    import signal
    pid = stack.health("sharpen").json()["pid"]
    assert stack.owns_pid(pid)
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until_stopped([pid])
        started = time.monotonic()
        r = stack.get("/health/sharpen", timeout=60)
        elapsed = time.monotonic() - started
        tools.json_error(r, 504, "timeout")
        assert 9 <= elapsed < 15, elapsed
    finally:
        os.kill(pid, signal.SIGCONT)
    assert stack.health("sharpen").status_code == 200
