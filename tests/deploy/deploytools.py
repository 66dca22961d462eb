"""Shared helpers of the deployment tests (tests/deploy): `make install`, the installed
tree, the scores printed at the end.

Run it through `make deploy-test`: make variables given on that command line (a private
build directory: BIN=, SWIFT_BUILD=) reach the `make install` the tests
run, through MAKEFLAGS. PROGIMAGE_TEST_KEEP=1 keeps the temporary folders.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/usr/local"
UNIT_DIR = f"{PREFIX}/lib/systemd/system"
SITE = "/etc/nginx/sites-available/progimage"
ENV_FILE = "/etc/progimage/progimage.env"

# Filled by tests, printed at the end of the run.
SECURITY_SCORES: dict[str, float] = {}
SANDBOX_REPORTS: list[str] = []


def make(*arguments: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    result = subprocess.run(["make", "--no-print-directory", *arguments], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"make {' '.join(arguments)} failed ({result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}", pytrace=False)
    return result


def private_directory(prefix: str) -> Path:
    """A temporary directory others may traverse: the service's user and nginx's workers
    need to reach what is inside (pytest's own tmp_path is mode 0700 under root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def files_under(root: Path) -> set[str]:
    """Every non-directory below root, as absolute paths of the installed system."""
    return {"/" + str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir() or p.is_symlink()}


@dataclass
class Installed:
    """A `make install DESTDIR=root` tree."""

    root: Path

    @property
    def unit_dir(self) -> Path:
        return self.root / UNIT_DIR.lstrip("/")

    @property
    def binary(self) -> Path:
        return self.root / f"{PREFIX}/bin/progimage-fcgi".lstrip("/")

    @property
    def site(self) -> Path:
        return self.root / SITE.lstrip("/")

    @property
    def env_file(self) -> Path:
        return self.root / ENV_FILE.lstrip("/")

    def roles(self) -> list[str]:
        """TransformRole.all, in order, as the production site renders it."""
        return re.findall(r"^upstream progimage_(\w+) \{", self.site.read_text(), re.M)
