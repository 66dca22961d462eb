"""Deployment tests: `make install`, the systemd units, and the installed service run as
its units say, behind the production nginx site. No systemd as PID 1 is needed.
How to run it: see deploytools.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from deploytools import SANDBOX_REPORTS, SECURITY_SCORES, Installed, make, private_directory


@pytest.fixture(scope="session")
def installed() -> Installed:
    root = private_directory("progimage-destdir-")
    try:
        make("install", f"DESTDIR={root}")
        yield Installed(root)
    finally:
        if not os.environ.get("PROGIMAGE_TEST_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def scratch_root() -> Path:
    """An empty DESTDIR of the test's own, removed afterwards."""
    root = private_directory("progimage-scratch-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def verify_root(installed) -> Path:
    """The installed tree plus this host's system units, for `systemd-analyze --root`:
    verify follows every dependency (sysinit.target, sockets.target...) and checks that
    ExecStart= exists, both inside the root."""
    root = private_directory("progimage-verify-")
    shutil.copytree(installed.root, root, dirs_exist_ok=True, symlinks=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True,
                    dirs_exist_ok=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if SECURITY_SCORES:
        terminalreporter.section("systemd-analyze security --offline=true (exposure, lower is better)")
        for unit, score in SECURITY_SCORES.items():
            terminalreporter.write_line(f"{unit:32} {score:.1f}")
    if SANDBOX_REPORTS:
        terminalreporter.section("sandbox settings reproduced without systemd")
        for line in SANDBOX_REPORTS:
            terminalreporter.write_line(line)
