"""Black-box integration tests for progimage: fixtures and shared helpers.

The suite starts the real stack (`make run`, or the command in
PROGIMAGE_TEST_COMMAND) on a free loopback port with private data/cache
directories, and talks to it only over HTTP (plus looking at the files it
leaves in those directories).

Environment knobs (all optional):
  PROGIMAGE_TEST_COMMAND          command to start the stack (default: make run),
                                  run from the repository root, split with shlex
  PROGIMAGE_TEST_STARTUP_TIMEOUT  seconds to wait for every /health/{type} (default 600)
  PROGIMAGE_CORPUS                the shared conformance corpus folder
  PROGIMAGE_TEST_KEEP             keep the temporary data/cache/log folders
  PROGIMAGE_TEST_BACKENDS         `distributed`: every stack keeps its metadata in
                                  PostgreSQL and its originals in a SeaweedFS bucket,
                                  both started by the suite (backends.py)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from PIL import Image, ImageChops, ImageStat

import backends
import siteroles

try:  # HEIC (and, with old pillow-heif, AVIF) decoding
    import pillow_heif

    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):  # pillow-heif < 1.0
        try:
            pillow_heif.register_avif_opener()
        except Exception:  # pragma: no cover - depends on the installed build
            pass
except ImportError:  # pragma: no cover - requirements.txt lists it
    pillow_heif = None

# JPEG XL: pillow-jxl-plugin, its own libjxl build (newer than Debian's, which the
# service uses) behind a Rust wrapper.
import pillow_jxl  # noqa: E402,F401 - registers the JXL opener and saver

Image.MAX_IMAGE_PIXELS = 200_000_000

# --------------------------------------------------------------------------
# Constants from the contract (API.md)
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]

INSTANCE_TYPES = siteroles.roles()
EXTS = ["jpg", "png", "gif", "webp", "bmp", "tiff", "avif", "heic", "jxl"]
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "avif": "image/avif",
    "heic": "image/heic",
    "jxl": "image/jxl",
}
PIL_FORMATS = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "bmp": "BMP",
    "tiff": "TIFF",
    "avif": "AVIF",
    "heic": "HEIF",
    "jxl": "JXL",
}
# manifest "format" -> the service's sniffed "format" (heif -> heic: the corpus'
# heif/ folder is HEVC; AV1-coded HEIF files are in avif/ with format "avif").
MANIFEST_TO_EXT = {
    "jpeg": "jpg",
    "png": "png",
    "gif": "gif",
    "webp": "webp",
    "bmp": "bmp",
    "tiff": "tiff",
    "avif": "avif",
    "heif": "heic",
}
IMAGE_OBJECT_KEYS = {
    "id", "filename", "format", "content_type", "width", "height",
    "bytes", "sha256", "created_at", "url", "blurhash", "frames",
}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]+$")
CREATED_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
CACHE_CONTROL = "public, max-age=31536000, immutable"

# The stack with small limits (one extra stack, shared by every module that needs it).
LIMITED_ENV = {
    "PROGIMAGE_MAX_UPLOAD_BYTES": "200000",
    "PROGIMAGE_MAX_PIXELS": "1000000",
    "PROGIMAGE_MAX_OUTPUT_SIDE": "1000",
}

# A third stack for the security features: API keys (two, for rotation), URL signing,
# and link ingest allowed to reach the test's own loopback HTTP server.
API_KEYS = ("it-key-one", "it-key-two")
SIGNING_KEY = "it-signing-key-0123456789"
SECURE_ENV = {
    "PROGIMAGE_API_KEY": ",".join(API_KEYS),
    "PROGIMAGE_SIGNING_KEY": SIGNING_KEY,
    "PROGIMAGE_FETCH_ALLOW_HOSTS": "127.0.0.0/8",
    "PROGIMAGE_FETCH_TIMEOUT_S": "2",
    # The link tests stall more links than the api instance has fetch slots and room to
    # wait (max(6, 3 × threads) and 12: 6 and 12 here whatever the machine's cores).
    "PROGIMAGE_THREADS": "2",
}

# Contract variables that would change behaviour if inherited from the caller's shell.
_SCRUBBED_ENV = {
    "PROGIMAGE_PORT", "PROGIMAGE_DATA_DIR", "PROGIMAGE_CACHE_DIR", "PROGIMAGE_API_KEY",
    "PROGIMAGE_SIGNING_KEY", "PROGIMAGE_MAX_UPLOAD_BYTES", "PROGIMAGE_MAX_PIXELS",
    "PROGIMAGE_MAX_OUTPUT_SIDE", "PROGIMAGE_FETCH_ALLOW_HOSTS", "PROGIMAGE_FETCH_TIMEOUT_S",
    "PROGIMAGE_DATABASE_URL", "PROGIMAGE_S3_ENDPOINT", "PROGIMAGE_S3_BUCKET", "PROGIMAGE_S3_REGION",
    "PROGIMAGE_S3_TIMEOUT_S", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PROGIMAGE_RUN_DIR",
}

DISTRIBUTED = os.environ.get("PROGIMAGE_TEST_BACKENDS") == "distributed"


class SharedBackends:
    """One PostgreSQL cluster and one SeaweedFS for the whole session, started on first use;
    each stack (or cluster of boxes) gets a database and a bucket of its own."""

    pg: backends.Postgres | None = None
    s3: backends.SeaweedFS | None = None
    count = 0

    @classmethod
    def environment(cls) -> dict[str, str]:
        if cls.pg is None:
            why = backends.available()
            if why:
                pytest.fail(f"distributed backends unavailable: {why}", pytrace=False)
            cls.pg = backends.Postgres().start()
            cls.s3 = backends.SeaweedFS().start()
        cls.count += 1
        return backends.stack_environment(cls.pg, cls.s3, f"stack{cls.count}-{os.getpid()}")

    @classmethod
    def stop(cls) -> None:
        if cls.s3:
            cls.s3.destroy()
        if cls.pg:
            cls.pg.destroy()
        cls.pg = cls.s3 = None

DEFAULT_TIMEOUT = 120
SLOW_TIMEOUT = 300

# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(size: str, read_only: bool = False):
    """A small filesystem of its own (a full disk on demand, or one nobody can write to,
    root included), mounted for the block and removed after it. Mounting needs root, which
    CI has: otherwise the test fails."""
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (CI runs as root)", pytrace=False)
    mount = Path(tempfile.mkdtemp(prefix="progimage-tmpfs-"))
    options = f"size={size},mode=0700" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        os.rmdir(mount)


def corpus_dir() -> Path | None:
    env = os.environ.get("PROGIMAGE_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT / "tests" / "corpus")
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c.resolve()
    return None


_MANIFEST_CACHE: list | None = None


def corpus_manifest() -> list[dict]:
    """The manifest rows, or [] when the corpus cannot be found."""
    global _MANIFEST_CACHE
    if _MANIFEST_CACHE is None:
        d = corpus_dir()
        if d is None:
            _MANIFEST_CACHE = []
        else:
            _MANIFEST_CACHE = json.loads((d / "manifest.json").read_text())["files"]
    return _MANIFEST_CACHE


def corpus_entry(file: str) -> dict:
    for e in corpus_manifest():
        if e["file"] == file:
            return e
    raise KeyError(file)


def corpus_bytes(file: str) -> bytes:
    d = corpus_dir()
    if d is None:
        pytest.fail("conformance corpus not found (it is committed in tests/corpus; PROGIMAGE_CORPUS overrides it)")
    return (d / file).read_bytes()


_CORPUS_MISSING = "corpus-missing"


def pytest_generate_tests(metafunc):
    """Parametrize corpus fixtures from the manifest at collection time.

    A missing corpus yields one parameter that fails at run time rather than
    an empty (silently skipped) parameter set.
    """
    selectors = {
        "corpus_entry_any": lambda e: True,
        "corpus_entry_valid": lambda e: e["expect"] == "valid",
        "exif_orientation_entry": lambda e: e["file"].startswith("jpeg/exif-orientation/"),
    }
    for name, pred in selectors.items():
        if name in metafunc.fixturenames:
            rows = [e for e in corpus_manifest() if pred(e)]
            if not rows:
                metafunc.parametrize(name, [_CORPUS_MISSING], ids=[_CORPUS_MISSING])
            else:
                metafunc.parametrize(name, rows, ids=[e["file"] for e in rows])


def require_corpus_entry(entry):
    if entry == _CORPUS_MISSING:
        pytest.fail("conformance corpus not found (it is committed in tests/corpus; PROGIMAGE_CORPUS overrides it)")
    return entry


# --------------------------------------------------------------------------
# Pure helpers (image generation, decoding, assertions)
# --------------------------------------------------------------------------


class Tools:
    """Stateless helpers, exposed to tests through the `tools` fixture."""

    EXTS = EXTS
    CONTENT_TYPES = CONTENT_TYPES
    PIL_FORMATS = PIL_FORMATS
    MANIFEST_TO_EXT = MANIFEST_TO_EXT
    IMAGE_OBJECT_KEYS = IMAGE_OBJECT_KEYS
    ID_RE = ID_RE
    CURSOR_RE = CURSOR_RE
    CREATED_AT_RE = CREATED_AT_RE
    CACHE_CONTROL = CACHE_CONTROL
    INSTANCE_TYPES = INSTANCE_TYPES

    # ---- decoding -------------------------------------------------------
    @staticmethod
    def decode(data: bytes) -> Image.Image:
        """Open and fully decode image bytes with Pillow (+ pillow-heif)."""
        im = Image.open(io.BytesIO(data))
        im.load()
        return im

    @staticmethod
    def frame_count(im: Image.Image) -> int:
        return int(getattr(im, "n_frames", 1) or 1)

    @staticmethod
    def ftyp_brands(data: bytes) -> set[str]:
        """Major and compatible brands of an ISO-BMFF ftyp box (empty if none)."""
        if len(data) < 16 or data[4:8] != b"ftyp":
            return set()
        size = struct.unpack(">I", data[:4])[0]
        size = min(max(size, 16), len(data))
        brands = {data[8:12].decode("latin-1")}
        for off in range(16, size - 3, 4):
            brands.add(data[off:off + 4].decode("latin-1"))
        return brands

    @staticmethod
    def metadata_problems(im: Image.Image, ext: str) -> list[str]:
        """EXIF/XMP/GPS metadata left in a derived image (should be none)."""
        problems = []
        exif = im.getexif()
        if ext == "tiff":
            # TIFF tags are the image structure; only EXIF/GPS/XMP/orientation count.
            for tag, name in ((0x0112, "Orientation"), (0x8769, "ExifIFD"), (0x8825, "GPSIFD"), (700, "XMP"),
                              (271, "Make"), (272, "Model"), (315, "Artist"), (33432, "Copyright")):
                if tag in exif and not (tag == 0x0112 and exif[tag] == 1):
                    problems.append(f"TIFF tag {name} present")
        else:
            if len(exif):
                problems.append(f"EXIF present: tags {sorted(exif.keys())[:10]}")
            if im.info.get("exif"):
                problems.append("info['exif'] present")
        if im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"):
            problems.append("XMP present")
        return problems

    # ---- generation -----------------------------------------------------
    @staticmethod
    def encode(im: Image.Image, fmt: str, **params) -> bytes:
        buf = io.BytesIO()
        im.save(buf, format=fmt, **params)
        return buf.getvalue()

    @staticmethod
    def png(im: Image.Image) -> bytes:
        return Tools.encode(im, "PNG")

    @staticmethod
    def noise(w: int, h: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
        bands = len(mode)
        rnd = random.Random(seed)
        return Image.frombytes(mode, (w, h), rnd.randbytes(w * h * bands))

    @staticmethod
    def quadrants(w: int = 200, h: int = 100) -> Image.Image:
        """TL red, TR green, BL blue, BR yellow (w and h even)."""
        im = Image.new("RGB", (w, h))
        hw, hh = w // 2, h // 2
        im.paste((255, 0, 0), (0, 0, hw, hh))
        im.paste((0, 255, 0), (hw, 0, w, hh))
        im.paste((0, 0, 255), (0, hh, hw, h))
        im.paste((255, 255, 0), (hw, hh, w, h))
        return im

    @staticmethod
    def gradient(w: int, h: int, seed: int = 0) -> Image.Image:
        """A smooth but non-trivial RGB image (compresses well, not flat)."""
        rnd = random.Random(seed)
        base = Image.linear_gradient("L").resize((w, h))
        other = base.transpose(Image.Transpose.ROTATE_90).resize((w, h))
        noise = Tools.noise(max(1, w // 16), max(1, h // 16), "L", seed=rnd.randrange(1 << 30)).resize(
            (w, h), Image.Resampling.BILINEAR)
        return Image.merge("RGB", (base, other, noise))

    @staticmethod
    def png_chunk(ctype: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)

    @staticmethod
    def huge_png_header(width: int = 60000, height: int = 60000) -> bytes:
        """A PNG with a valid signature and IHDR (correct CRC) claiming width x height,
        followed by a tiny IDAT and IEND: nowhere near enough pixel data."""
        ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
        idat = zlib.compress(b"\x00" * 16)
        return (b"\x89PNG\r\n\x1a\n" + Tools.png_chunk(b"IHDR", ihdr)
                + Tools.png_chunk(b"IDAT", idat) + Tools.png_chunk(b"IEND", b""))

    @staticmethod
    def padded_png(total: int, w: int = 64, h: int = 64, seed: int = 0) -> bytes:
        """A valid PNG of exactly `total` bytes: a noise image plus a tEXt chunk of padding."""
        raw = Tools.png(Tools.noise(w, h, seed=seed))
        assert raw[-12:] == Tools.png_chunk(b"IEND", b"")
        head = raw[:-12]
        overhead = 12 + len(b"Comment\x00")
        pad = total - len(raw) - overhead
        if pad < 0:
            raise ValueError(f"a {w}x{h} noise PNG is already {len(raw)} bytes")
        text = Tools.png_chunk(b"tEXt", b"Comment\x00" + b"x" * pad)
        out = head + text + raw[-12:]
        assert len(out) == total
        return out

    @staticmethod
    def jpeg(im: Image.Image, **params) -> bytes:
        return Tools.encode(im.convert("RGB"), "JPEG", **params)

    # ---- comparisons ----------------------------------------------------
    @staticmethod
    def thumb(im: Image.Image, width: int = 64) -> Image.Image:
        im = im.convert("RGB")
        h = max(1, round(width * im.height / im.width))
        return im.resize((width, h), Image.Resampling.BILINEAR)

    @staticmethod
    def mad(a: Image.Image, b: Image.Image, width: int = 64) -> float:
        """Mean absolute per-channel difference of 64-px-wide thumbnails (0..255)."""
        ta, tb = Tools.thumb(a, width), Tools.thumb(b, width)
        if ta.size != tb.size:
            tb = tb.resize(ta.size, Image.Resampling.BILINEAR)
        return sum(ImageStat.Stat(ImageChops.difference(ta, tb)).mean) / 3

    @staticmethod
    def same_pixels(a: Image.Image, b: Image.Image, mode: str = "RGB") -> bool:
        a, b = a.convert(mode), b.convert(mode)
        return a.size == b.size and a.tobytes() == b.tobytes()

    @staticmethod
    def sha256(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def random_id(n: int = 16, seed: int | None = None) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        rnd = random.Random(seed) if seed is not None else random.SystemRandom()
        return "".join(rnd.choice(alphabet[:62]) for _ in range(n))

    # ---- HTTP assertions ------------------------------------------------
    @staticmethod
    def describe(r: requests.Response) -> str:
        body = r.content[:400]
        return f"{r.request.method} {r.url} -> {r.status_code} {dict(r.headers)} body={body!r}"

    @staticmethod
    def json_error(r: requests.Response, status=None, code=None) -> dict:
        """Assert `r` is a contract error: JSON {"error": {"code", "message"}}."""
        if status is not None:
            allowed = status if isinstance(status, (set, list, tuple, range)) else {status}
            assert r.status_code in allowed, f"expected status {status}: {Tools.describe(r)}"
        else:
            assert 400 <= r.status_code < 600, f"expected an error status: {Tools.describe(r)}"
        ctype = r.headers.get("Content-Type", "")
        assert ctype.split(";")[0].strip().lower() == "application/json", \
            f"error Content-Type is {ctype!r}: {Tools.describe(r)}"
        try:
            body = r.json()
        except ValueError:
            raise AssertionError(f"error body is not JSON: {Tools.describe(r)}") from None
        assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"no error object: {body!r}"
        err = body["error"]
        assert isinstance(err.get("code"), str) and re.fullmatch(r"[a-z][a-z0-9_]*", err["code"]), \
            f"error.code is not a snake_case word: {body!r}"
        assert isinstance(err.get("message"), str) and err["message"], f"error.message missing: {body!r}"
        if code is not None:
            assert err["code"] == code, f"expected error code {code!r}, got {body!r} (HTTP {r.status_code})"
        return err

    @staticmethod
    def check_image_object(obj: dict, *, data: bytes | None = None, filename="__unset__",
                           fmt: str | None = None, size: tuple[int, int] | None = None) -> None:
        """Assert an image object has exactly the contract's fields, well-formed."""
        assert isinstance(obj, dict), obj
        assert set(obj) == IMAGE_OBJECT_KEYS, f"object fields {sorted(obj)} != {sorted(IMAGE_OBJECT_KEYS)}"
        assert isinstance(obj["id"], str) and ID_RE.match(obj["id"]), obj
        assert obj["format"] in EXTS, obj
        assert obj["content_type"] == CONTENT_TYPES[obj["format"]], obj
        for k in ("width", "height", "bytes"):
            assert type(obj[k]) is int and obj[k] >= 1, (k, obj)
        assert isinstance(obj["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", obj["sha256"]), obj
        assert isinstance(obj["created_at"], str) and CREATED_AT_RE.match(obj["created_at"]), obj
        created = datetime.fromisoformat(obj["created_at"].replace("Z", "+00:00"))
        skew = abs((datetime.now(timezone.utc) - created).total_seconds())
        assert skew < 24 * 3600, f"created_at {obj['created_at']} is far from now"
        assert obj["url"] == f"/images/{obj['id']}.{obj['format']}", obj
        assert obj["filename"] is None or isinstance(obj["filename"], str), obj
        if data is not None:
            assert obj["bytes"] == len(data), obj
            assert obj["sha256"] == hashlib.sha256(data).hexdigest(), obj
        if filename != "__unset__":
            assert obj["filename"] == filename, obj
        if fmt is not None:
            assert obj["format"] == fmt, obj
        if size is not None:
            assert (obj["width"], obj["height"]) == tuple(size), f"size {(obj['width'], obj['height'])} != {size}"


# --------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------


def _free_port() -> int:
    return backends.free_port()  # never one handed out before in this run


def start_that_stops(settings: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Starts the stack with `settings` (and its own directories and port) where it is
    expected to stop at once; what it exited with and said."""
    command = shlex.split(os.environ.get("PROGIMAGE_TEST_COMMAND") or "make run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    env.update({"PROGIMAGE_DATA_DIR": str(tmp_path / "d"), "PROGIMAGE_CACHE_DIR": str(tmp_path / "c"),
                "PROGIMAGE_PORT": str(_free_port()), **settings})
    return subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def assert_start_refused(variable: str, value: str, tmp_path: Path) -> None:
    """The stack started with one bad PROGIMAGE_* value stops at once with exit 2, naming it."""
    r = start_that_stops({variable: value}, tmp_path)
    assert r.returncode == 2 and variable in r.stderr, (r.returncode, r.stderr[-500:])


def _proc_stat(pid: int):
    """(state, ppid, pgrp) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])


def _proc_mentions(pid: int, marker: bytes) -> bool:
    for name in ("environ", "cmdline"):
        try:
            if marker in Path(f"/proc/{pid}/{name}").read_bytes():
                return True
        except OSError:
            pass
    return False


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _is_descendant(pid: int, ancestor: int) -> bool:
    seen = set()
    while pid > 1 and pid not in seen:
        if pid == ancestor:
            return True
        seen.add(pid)
        st = _proc_stat(pid)
        if st is None:
            return False
        pid = st[1]
    return False


class Stack:
    """One running progimage stack (nginx + instances) on a private port and folders."""

    def __init__(self, extra_env: dict | None = None, backend_env: dict | None = None,
                 command: list[str] | None = None):
        """`backend_env`: the database and bucket settings to share with other stacks (boxes of
        one cluster); by default, in distributed mode, a database and bucket of its own.
        `command`: instead of PROGIMAGE_TEST_COMMAND (the front door's `run-front`)."""
        self.extra_env = dict(extra_env or {})
        self._command = command
        self.root = Path(tempfile.mkdtemp(prefix="progimage-it-"))
        os.chmod(self.root, 0o700)
        self.data_dir = self.root / "data"
        self.cache_dir = self.root / "cache"
        for d in (self.data_dir, self.cache_dir):
            d.mkdir(mode=0o700)
            os.chmod(d, 0o700)
        self.log_path = self.root / "stack.log"
        # The backends first: the first stack starts them, and nothing of theirs may take
        # this stack's port while it waits to be bound.
        if backend_env is not None:
            self.backend_env = dict(backend_env)
        else:
            self.backend_env = SharedBackends.environment() if DISTRIBUTED else {}
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._started_before = False
        self.proc: subprocess.Popen | None = None
        self.pgid: int | None = None
        self._local = threading.local()
        self._log_file = None
        self.stopped = False

    # ---- lifecycle ------------------------------------------------------
    @property
    def command(self) -> list[str]:
        return self._command or shlex.split(os.environ.get("PROGIMAGE_TEST_COMMAND") or "make run")

    def start(self, timeout: float | None = None, healthy: bool = True, _port_tries: int = 3) -> None:
        """Waits until every instance's health check answers 200, or with `healthy=False`
        (a front door with no box behind it) only until the port takes connections.

        A first start whose nginx finds its port taken (between `_free_port` and nginx's
        bind, a connection of the other pass may get it as its own local port: a fresh-clone
        run lost a test so) starts again on another port; a stack started before keeps its
        port (a front door names it)."""
        self.stopped = False  # a stack stopped and started again is stopped again at the end
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update({
            "PROGIMAGE_PORT": str(self.port),
            "PROGIMAGE_DATA_DIR": str(self.data_dir),
            "PROGIMAGE_CACHE_DIR": str(self.cache_dir),
        })
        env.update(self.backend_env)
        env.update(self.extra_env)
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pgid = self.proc.pid  # start_new_session: the child leads its own group
        timeout = timeout or float(os.environ.get("PROGIMAGE_TEST_STARTUP_TIMEOUT", "600"))
        deadline = time.monotonic() + timeout
        pending = list(INSTANCE_TYPES)
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                taken = "Address already in use" in tail or "already listens on" in tail
                if (taken and _port_tries > 1 and not self._started_before
                        and "PROGIMAGE_PORT" not in self.extra_env):
                    self.stop()
                    self.port = _free_port()
                    self.base_url = f"http://127.0.0.1:{self.port}"
                    return self.start(timeout, healthy, _port_tries - 1)
                self.stop()
                self.cleanup_files()
                pytest.fail(f"stack {self.command} exited with {self.proc.returncode} before becoming "
                            f"healthy\n--- log tail ---\n{tail}", pytrace=False)
            if healthy:
                pending = [t for t in pending if not self._answers_health(t)]
            else:
                pending = [] if self._takes_connections() else ["a connection"]
            if not pending:
                self._started_before = True
                return
            if time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                self.cleanup_files()
                pytest.fail(f"stack not healthy after {timeout:.0f}s (waiting for {pending})\n"
                            f"--- log tail ---\n{tail}", pytrace=False)
            time.sleep(0.5)

    def _answers_health(self, instance_type: str) -> bool:
        try:
            return requests.get(self.url(f"/health/{instance_type}"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _takes_connections(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            return True
        except OSError:
            return False

    def leftovers(self) -> list[int]:
        """Live (non-zombie) processes of this stack: its process group, or any
        process whose environment/command line names this stack's temp folder."""
        marker = str(self.root).encode()
        me = os.getpid()
        found = []
        for pid in _all_pids():
            if pid == me:
                continue
            st = _proc_stat(pid)
            if st is None or st[0] == "Z":
                continue
            if st[2] == self.pgid or _proc_mentions(pid, marker):
                found.append(pid)
        return found

    def stop(self, grace: float = 15.0) -> list[str]:
        """SIGTERM the group, wait, SIGKILL leftovers. Returns problems found."""
        if self.stopped or self.proc is None:
            return []
        self.stopped = True
        problems = []
        try:
            os.killpg(self.pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problems.append(f"{self.command} (pid {self.proc.pid}) did not exit within {grace:.0f}s of SIGTERM")
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.leftovers()
        if left:
            desc = []
            for pid in left:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    cmd = "?"
                desc.append(f"{pid}: {cmd.strip()}")
            problems.append("processes left behind after SIGTERM: " + "; ".join(desc))
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        if self._log_file:
            self._log_file.close()
        for s in getattr(self, "_sessions", []):
            s.close()
        return problems

    def cleanup_files(self) -> None:
        if not os.environ.get("PROGIMAGE_TEST_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def owns_pid(self, pid: int) -> bool:
        """Whether pid is a live process of this stack (safe to signal)."""
        st = _proc_stat(pid)
        if st is None:
            return False
        return (st[2] == self.pgid or _is_descendant(pid, self.proc.pid)
                or _proc_mentions(pid, str(self.root).encode()))

    def run_dir(self) -> Path:
        """The stack's run directory (its sockets and nginx.conf), read from the command
        line of its nginx master: `-c RUN/nginx.conf`."""
        for pid in _all_pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            m = re.search(r"nginx: master process .* -c (\S+)/nginx\.conf", cmdline)
            if m and self.owns_pid(pid):
                return Path(m.group(1))
        raise AssertionError("no nginx master process of this stack found")

    # ---- HTTP -----------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            self._local.session = s
            self.__dict__.setdefault("_sessions", []).append(s)
        return s

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", DEFAULT_TIMEOUT)
        return self.session.request(method, self.url(path), **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw) -> requests.Response:
        return self.request("HEAD", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def upload(self, data: bytes, filename: str | None = None, content_type: str = "image/png",
               **kw) -> requests.Response:
        """Raw-body upload: POST /images with Content-Type and optional filename."""
        headers = {"Content-Type": content_type}
        if filename is not None:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        headers.update(kw.pop("headers", {}))
        return self.post("/images", data=data, headers=headers, **kw)

    def upload_ok(self, data: bytes, filename: str | None = None, content_type: str = "image/png",
                  headers: dict | None = None) -> dict:
        r = self.upload(data, filename, content_type, headers=headers or {})
        assert r.status_code == 201, f"upload failed: {Tools.describe(r)}"
        return r.json()

    def upload_multipart(self, parts: list[tuple[str | None, bytes, str]], **kw) -> requests.Response:
        files = [("file", (name, data, ctype)) for name, data, ctype in parts]
        return self.post("/images", files=files, **kw)

    def health(self, t: str) -> requests.Response:
        return self.get(f"/health/{t}", timeout=10)

    def kill_instance(self, role: str, within: float = 10) -> None:
        """SIGKILLs the instance answering /health/{role} and waits for the supervisor's
        new one to answer."""
        pid = self.health(role).json()["pid"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            r = self.health(role)
            if r.status_code == 200 and r.json()["pid"] != pid:
                return
            time.sleep(0.1)
        raise AssertionError(f"no {role} instance answered within {within} s of killing {pid}")

    def list_page(self, **params) -> requests.Response:
        return self.get("/images", params=params)

    def list_all_ids(self) -> list[str]:
        """Every image id, newest first (walks pages of 1000)."""
        ids, cursor = [], None
        for _ in range(10_000):
            params = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            r = self.list_page(**params)
            assert r.status_code == 200, Tools.describe(r)
            body = r.json()
            ids += [o["id"] for o in body["images"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return ids
        raise AssertionError("list pagination never ended")

    def newest_id(self) -> str | None:
        r = self.list_page(limit=1)
        assert r.status_code == 200, Tools.describe(r)
        imgs = r.json()["images"]
        return imgs[0]["id"] if imgs else None

    @staticmethod
    def files_under(d: Path) -> set[str]:
        out = set()
        for root, _dirs, files in os.walk(d):
            for f in files:
                out.add(os.path.relpath(os.path.join(root, f), d))
        return out

    def data_files_except_db(self) -> set[str]:
        """Files under the data dir, minus the SQLite database and its side files."""
        db = re.compile(r"(\.(db|sqlite|sqlite3)(-wal|-shm|-journal)?|-wal|-shm|-journal)$")
        return {f for f in self.files_under(self.data_dir) if not db.search(f)}

    def paths_mentioning(self, image_id: str) -> list[str]:
        hits = []
        for base in (self.data_dir, self.cache_dir):
            for root, dirs, files in os.walk(base):
                for n in dirs + files:
                    if image_id in n:
                        hits.append(os.path.join(root, n))
        return hits

    def location(self, r: requests.Response) -> str:
        """The Location header resolved against the request URL, as a path+query."""
        loc = r.headers.get("Location")
        assert loc, f"no Location header: {Tools.describe(r)}"
        absolute = urljoin(r.url, loc)
        assert absolute.startswith(self.base_url + "/") or absolute.startswith(
            f"http://localhost:{self.port}/"), f"Location {loc!r} points elsewhere"
        return "/" + absolute.split("/", 3)[3]


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

_STACKS: list[Stack] = []
_TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def stack_factory():
    """Factory: stack_factory(env=None) -> a running Stack (one per distinct env, reused)."""
    started: dict[tuple, Stack] = {}

    def start(env: dict | None = None) -> Stack:
        key = tuple(sorted((env or {}).items()))
        if key not in started:
            s = Stack(env)
            _STACKS.append(s)
            s.start()
            started[key] = s
        return started[key]

    yield start

    problems = []
    # Stopped side by side: each takes 1–2 s idle, ~12 of them were 38 s one after the other.
    stacks = list(reversed(list(started.values())))
    with ThreadPoolExecutor(max_workers=max(1, len(stacks))) as pool:
        results = list(pool.map(lambda stack: stack.stop(), stacks))
    for s, found in zip(stacks, results):
        if found:
            problems.append(f"stack on port {s.port} ({s.extra_env or 'default env'}, files kept in {s.root}):\n  "
                            + "\n  ".join(found) + f"\n--- log tail ---\n{s.log_tail()}")
        else:
            s.cleanup_files()
    if problems:
        pytest.fail("stack teardown:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def stack(stack_factory) -> Stack:
    """The default stack, shared by the whole session."""
    return stack_factory()


@pytest.fixture(scope="session")
def limited_stack(stack_factory) -> Stack:
    """A second stack with small limits (LIMITED_ENV)."""
    return stack_factory(LIMITED_ENV)


@pytest.fixture(scope="session")
def secure_stack(stack_factory) -> Stack:
    """A third stack with API keys, URL signing and a link-ingest allow list (SECURE_ENV)."""
    return stack_factory(SECURE_ENV)


@pytest.fixture(scope="session")
def tools():
    return Tools


@pytest.fixture(scope="session")
def base_url(stack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def upload(stack):
    return stack.upload


@pytest.fixture(scope="session")
def decode():
    return Tools.decode


@pytest.fixture(scope="session")
def data_dir(stack) -> Path:
    return stack.data_dir


@pytest.fixture(scope="session")
def cache_dir(stack) -> Path:
    return stack.cache_dir


@pytest.fixture(scope="session")
def corpus():
    """Accessors for the shared corpus; fails (not skips) when it is missing."""
    d = corpus_dir()
    if d is None:
        pytest.fail("conformance corpus not found (it is committed in tests/corpus; PROGIMAGE_CORPUS overrides it)")

    class Corpus:
        path = d
        manifest = corpus_manifest()
        entry = staticmethod(corpus_entry)
        read = staticmethod(corpus_bytes)
        require = staticmethod(require_corpus_entry)

    return Corpus


@pytest.fixture(scope="session")
def timings():
    """A dict tests may fill with {label: seconds}; printed in the terminal summary."""
    return _TIMINGS


# --------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------


# The cluster tests need PostgreSQL and the object store: they run with the distributed
# pass. The embedded store's own journal tests run with the embedded one. Modules that check
# only what decoders, colour conversion and encoders make of an original run once, embedded:
# the bytes they start from are the same whichever store kept them (`test_images.py` checks
# in both passes that every format's original comes back from the store bit for bit), and
# running their ~850 renders twice made CI's fresh clone take over 15 minutes. (test_transforms.py
# stays in both: it also holds 404s, 405s and conditional requests.)
PIXEL_ONLY_MODULES = ["test_conformance.py", "test_colour.py", "test_fast_paths.py", "test_jxl.py", "test_jpeg_parts.py"]
# The derived-file cache's budget and eviction: the cache is this box's own disk and the
# same code whichever store keeps the originals, and these modules wait out its 5-s
# protection windows (~60 s a pass; CI's fresh clone had come to 15 min 13 s).
LOCAL_CACHE_MODULES = ["test_cache_budget.py", "test_cache_recency.py"]
collect_ignore = (
    PIXEL_ONLY_MODULES + LOCAL_CACHE_MODULES + ["test_embedded_store.py"] if DISTRIBUTED else ["test_cluster.py"]
)


def pytest_collection_modifyitems(config, items):
    """The slowest pixel-only tests of modules that run in both passes carry
    `@pytest.mark.pixels_only` and run embedded only, as the modules above do (~30 s of the
    distributed pass: the EXIF orientations, block edges, resampling references).

    Tests of how processes behave (signals, restarts, a crash loop's backoff, renders stopped
    when nobody waits, timeouts) carry `@pytest.mark.processes_only`: the supervisor, nginx
    and a role's instance do the same whichever store keeps the images, so they run once, in
    the distributed pass, the shorter one (~120 s of waiting and restarting: alone, the
    embedded pass took 530 s and the distributed 411 s at e5cc689; side by side 663 and
    506)."""
    elsewhere = "pixels_only" if DISTRIBUTED else "processes_only"
    kept = [item for item in items if item.get_closest_marker(elsewhere) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker(elsewhere)])
        items[:] = kept


def pytest_configure(config):
    config.addinivalue_line("markers", "conformance: runs the shared image corpus through the stack")
    config.addinivalue_line("markers", "transforms: the /images/{id}/{op}... transform endpoints")
    config.addinivalue_line("markers", "security: API keys and URL signing")
    config.addinivalue_line("markers", "link_ingest: POST /images with a URL to fetch")
    config.addinivalue_line("markers", "pixels_only: checks only pixels; runs in the embedded pass only")
    config.addinivalue_line("markers", "processes_only: checks only how processes behave; runs in the distributed pass only")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and call.when in ("call", "setup", "teardown"):
        for s in _STACKS:
            rep.sections.append((f"progimage log tail (port {s.port}, {s.extra_env or 'default env'})",
                                 s.log_tail(40)))


def pytest_sessionfinish(session, exitstatus):
    SharedBackends.stop()


def pytest_terminal_summary(terminalreporter):
    if _TIMINGS:
        terminalreporter.section("progimage timings")
        for k, v in _TIMINGS.items():
            terminalreporter.write_line(f"{k}: {v:.1f} s")
