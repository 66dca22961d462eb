"""progimage client: upload, metadata, list, delete, and image URLs built offline.

Only `requests` beyond the standard library. `Client.url` prints operations in the
service's canonical form (the form the service caches under and checks a signature
against), so a URL built here is never redirected and, with a signing key, always valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Iterator, Optional, Sequence, Union

import requests
import requests.auth

__all__ = ["Client", "Image", "ProgimageError", "canonical_ops"]

FORMATS = ("jpg", "png", "gif", "webp", "bmp", "tiff", "avif", "heic", "jxl")
ALIASES = {"jpeg": "jpg", "tif": "tiff"}
QUALITY_FORMATS = ("jpg", "webp", "avif", "heic", "jxl")
MAX_OPERATIONS = 8


class ProgimageError(Exception):
    """An answer other than success: `status` (0 when no answer came), the contract's
    `code` (`not_found`, `bad_operation`, …) and its `message`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Image:
    id: str
    format: str
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    created_at: str
    url: str
    filename: Optional[str] = None
    blurhash: Optional[str] = None
    frames: int = 1
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, obj: dict) -> "Image":
        known = {k: obj.get(k) for k in ("id", "format", "content_type", "width", "height", "bytes", "sha256",
                                          "created_at", "url", "filename", "blurhash", "frames")}
        return cls(**known, extra={k: v for k, v in obj.items() if k not in known})


# ---- the operation grammar, printed canonically ------------------------------------------

_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


# The server reads integers of up to 18 significant digits (leading zeros and `+` allowed,
# `-` only for rotate): a larger number is still a number, refused or intersected there.
_BIG = 10 ** 18 - 1


def _integer(text: str, low: int, high: int, what: str, signed: bool = False) -> int:
    # ASCII digits only: `\d` and int() take any script's (`resize:２００x` became a signed
    # URL the server refuses).
    if not re.fullmatch(r"[+-]?[0-9]+" if signed else r"\+?[0-9]+", text or "") or len(text.lstrip("+-").lstrip("0")) > 18:
        raise ValueError(f"{what}: expected an integer, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what}: {value} is outside {low}–{high}")
    return value


def _decimal(text: str, low: Decimal, high: Decimal, what: str, places: int = 3) -> str:
    # The server's spelling: an optional `+`, ASCII digits and one dot with at most `places`
    # places after it that are not trailing zeros (`0.1000` is `0.1`), nothing else (no
    # exponent), at most 12 characters.
    text = text[1:] if (text or "").startswith("+") else text
    match = re.fullmatch(r"[0-9]+(?:\.([0-9]*))?|\.([0-9]+)", text or "")
    if not match or len(text) > 12:
        raise ValueError(f"{what}: expected a decimal such as 0.5, got {text!r}")
    if len((match.group(1) or match.group(2) or "").rstrip("0")) > places:
        raise ValueError(f"{what}: at most {places} decimals, got {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what}: expected a decimal, got {text!r}") from None
    step = Decimal(1).scaleb(-places)
    if not value.is_finite() or not low <= value <= high or value != value.quantize(step):
        raise ValueError(f"{what}: expected {low}–{high} with at most {places} decimals, got {text!r}")
    printed = format(value.quantize(step), "f").rstrip("0").rstrip(".")
    return printed


def _colour(text: str) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?", text):
        raise ValueError(f"colour: expected rrggbb or rrggbbaa, got {text!r}")
    return text.lower()


def _canonical_segment(segment: str) -> str:
    name, colon, args = segment.partition(":")
    if colon and not args:
        raise ValueError(f"{name}: an empty argument after ':'")
    if name == "resize":
        size, comma, rest = args.partition(",")
        mode, comma2, extra = rest.partition(",")
        if (comma and not mode) or (comma2 and not extra):
            raise ValueError(f"resize: an empty argument in {args!r}")
        if mode not in ("", "fill", "force", "pad"):
            raise ValueError(f"resize: mode must be fill, force or pad, got {mode!r}")
        w, sep, h = size.partition("x")
        if not sep or (not w and not h):
            raise ValueError(f"resize: expected {{W}}x{{H}}, got {args!r}")
        if mode and (not w or not h):
            raise ValueError(f"resize: {mode} needs both sides")
        w = str(_integer(w, 1, _BIG, "resize width")) if w else ""
        h = str(_integer(h, 1, _BIG, "resize height")) if h else ""
        suffix = f",{mode}" if mode else ""
        if extra:
            if mode == "fill" and extra in ("n", "ne", "e", "se", "s", "sw", "w", "nw", "smart"):
                suffix += f",{extra}"
            elif mode == "fill" and extra == "c":
                pass  # centre is the default, written without it
            elif mode == "pad":
                suffix += f",{_colour(extra)}"
            else:
                raise ValueError(f"resize: {extra!r} does not apply to {mode or 'fit'}")
        return f"resize:{w}x{h}{suffix}"
    if name == "pad":
        parts = args.split(",")
        if len(parts) not in (4, 5):
            raise ValueError(f"pad: expected t,r,b,l[,colour], got {args!r}")
        sides = ",".join(str(_integer(p, 0, 8192, "pad")) for p in parts[:4])
        return f"pad:{sides}" + (f",{_colour(parts[4])}" if len(parts) == 5 else "")
    if name == "crop":
        parts = args.split(",")
        if len(parts) != 4:
            raise ValueError(f"crop: expected x,y,w,h, got {args!r}")
        x, y = (_integer(p, 0, _BIG, "crop") for p in parts[:2])
        w, h = (_integer(p, 1, _BIG, "crop") for p in parts[2:])
        return f"crop:{x},{y},{w},{h}"
    if name == "rotate":
        return f"rotate:{_integer(args, -_BIG, _BIG, 'rotate', signed=True) % 360}"
    if name == "flip":
        axes = {"h": "h", "v": "v", "hv": "hv", "vh": "hv"}
        if args not in axes:
            raise ValueError(f"flip: expected h, v or hv, got {args!r}")
        return f"flip:{axes[args]}"
    if name == "grayscale":
        if args:
            raise ValueError("grayscale takes no argument")
        return "grayscale"
    if name == "blur":
        return f"blur:{_decimal(args, Decimal('0.1'), Decimal('50'), 'blur')}"
    if name == "sharpen":
        return f"sharpen:{_decimal(args, Decimal('1'), Decimal('100'), 'sharpen')}"
    if name == "quality":
        return f"quality:{_integer(args, 1, 100, 'quality')}"
    if name == "preset":
        # The server's to expand: the name as written.
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", args):
            raise ValueError(f"preset: a name is 1–32 of a-z 0-9 _ -, got {args!r}")
        return f"preset:{args}"
    if name == "overlay":
        parts = args.split(",")
        if not 1 <= len(parts) <= 3 or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", parts[0]):
            raise ValueError(f"overlay: expected {{id}}[,{{gravity}}[,{{opacity}}]], got {args!r}")
        gravity = parts[1] if len(parts) >= 2 else "se"
        if gravity not in ("n", "ne", "e", "se", "s", "sw", "w", "nw", "c"):
            raise ValueError(f"overlay: gravity must be one of n ne e se s sw w nw c, got {gravity!r}")
        opacity = _decimal(parts[2], Decimal("0.01"), Decimal("1"), "overlay opacity", places=2) if len(parts) == 3 else "1"
        # Defaults left out, as the server prints it: south-east at full opacity.
        if opacity != "1":
            return f"overlay:{parts[0]},{gravity},{opacity}"
        return f"overlay:{parts[0]}" if gravity == "se" else f"overlay:{parts[0]},{gravity}"
    raise ValueError(f"unknown operation {name!r}")


def canonical_ops(ops: Union[str, Sequence[str]], fmt: str) -> list[str]:
    """Canonical segments for `ops` ("resize:200x200/rotate:-90" or a list), `quality` last."""
    if isinstance(ops, str):
        ops = [s for s in ops.split("/") if s]
    segments = [_canonical_segment(s) for s in ops]
    quality = [s for s in segments if s.startswith("quality:")]
    pixels = [s for s in segments if not s.startswith("quality:")]
    if len(quality) > 1:
        raise ValueError("quality: at most once")
    if quality and fmt not in QUALITY_FORMATS:
        raise ValueError(f"quality applies to {', '.join(QUALITY_FORMATS)}, not {fmt}")
    if len(pixels) > MAX_OPERATIONS:
        raise ValueError(f"at most {MAX_OPERATIONS} operations")
    return pixels + quality


# ---- the client ------------------------------------------------------------------------------

Source = Union[str, os.PathLike, bytes, IO[bytes]]


class _Bearer(requests.auth.AuthBase):
    """`Authorization: Bearer <key>`, which requests applies after any credentials of its
    own (the URL's, ~/.netrc's), so the key is what is sent."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


class Client:
    def __init__(self, base_url: str = "http://127.0.0.1:8080", api_key: Optional[str] = None,
                 signing_key: Optional[str] = None, timeout: float = 120):
        match = isinstance(base_url, str) and re.fullmatch(
            r"https?://([^/?#\s@]*@)?(\[[0-9A-Fa-f:.]+\]|[^/?#\s@:\[\]]+)(:([0-9]{1,5}))?(/[^?#\s]*)?", base_url, re.IGNORECASE)
        if not match or (match.group(4) and not 1 <= int(match.group(4)) <= 65535):
            shown = "a URL with a password" if "@" in str(base_url) else repr(base_url)[:100]
            raise ValueError(f"base_url: expected http(s)://host[:port], got {shown}")
        self.base_url = base_url.rstrip("/")
        # Links are for pages and messages: without the user and password a base URL may
        # hold (`url()` against `http://u:pw@host` had handed out the password).
        self._link_base = re.sub(r"^(https?://)[^/?#\s@]*@", r"\1", self.base_url, flags=re.IGNORECASE)
        if api_key is not None and (not isinstance(api_key, str) or any(c < " " or c == "\x7f" for c in api_key)):
            # Not repeated: requests put the header, key and all, in its error message.
            raise ValueError("api_key: a key holds no line break or other control character")
        self.api_key, self.signing_key, self.timeout = api_key, signing_key, timeout
        self.http = requests.Session()

    # -- requests
    def _request(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if self.api_key and method in ("POST", "DELETE"):
            # As `auth`, not a header: requests replaced an Authorization header with Basic
            # auth from a `user:pass@` base URL or ~/.netrc, and every write was a 401.
            kw["auth"] = _Bearer(self.api_key)
        try:
            # A write is never redirected: requests turns a POST answered 301, 302 or 303 into
            # a GET, and an upload behind an http→https redirect "succeeded" with the first
            # page of the list (nothing stored).
            r = self.http.request(method, self.base_url + path, headers=headers, timeout=self.timeout,
                                  allow_redirects=method in ("GET", "HEAD"), **kw)
        except requests.RequestException as e:
            raise ProgimageError(0, "unavailable", str(e)) from None
        if 300 <= r.status_code < 400:
            raise ProgimageError(r.status_code, "redirected",
                                 f"{method} answered with a redirect to {r.headers.get('Location', '?')}: use that base URL")
        if r.status_code >= 400:
            try:
                error = r.json()["error"]
                raise ProgimageError(r.status_code, error["code"], error["message"])
            except (ValueError, KeyError, TypeError):
                raise ProgimageError(r.status_code, "http_error", r.text[:200]) from None
        return r

    @staticmethod
    def _json(r: requests.Response, expected: int = 200):
        """The answer's JSON object, or a `ProgimageError` (a proxy's HTML page, a status
        the contract does not give for this request)."""
        if r.status_code != expected:
            raise ProgimageError(r.status_code, "unexpected_answer", f"expected {expected}, got {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise ProgimageError(r.status_code, "unreadable_answer", r.text[:200]) from None
        if not isinstance(body, dict):
            raise ProgimageError(r.status_code, "unreadable_answer", r.text[:200])
        return body

    @staticmethod
    def _read(source: Source) -> tuple[bytes, Optional[str]]:
        if isinstance(source, (bytes, bytearray)):
            return bytes(source), None
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                return f.read(), os.path.basename(os.fspath(source))
        # A file object's name is its path, or for one made from a descriptor
        # (`TemporaryFile()`, `os.fdopen`) that descriptor's number: no filename then.
        name = getattr(source, "name", None)
        return source.read(), (os.path.basename(name) or None) if isinstance(name, str) else None

    # -- images
    def upload(self, source: Source, filename: Optional[str] = None) -> Image:
        """One image: a path, bytes or a binary file object."""
        data, name = self._read(source)
        headers = {"Content-Type": "application/octet-stream"}
        name = filename or name
        if name:
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{requests.utils.quote(name)}"
        return Image.from_json(self._json(self._request("POST", "/images", data=data, headers=headers), 201))

    def upload_many(self, sources: Sequence[Source]) -> list[Image]:
        """Several images in one multipart request: all stored, or none."""
        files = []
        for source in sources:
            data, name = self._read(source)
            # No name for bytes, as `upload` sends none (it was stored as "image").
            files.append(("file", (name, data, "application/octet-stream")))
        body = self._json(self._request("POST", "/images", files=files), 201)
        return [Image.from_json(o) for o in (body["images"] if "images" in body else [body])]

    def upload_from_url(self, url: str) -> Image:
        return Image.from_json(self._json(self._request("POST", "/images", json={"url": url}), 201))

    @staticmethod
    def _id(image_id: str) -> str:
        """An image id as the contract spells them: anything else would name another path
        (`x/../{id}` deleted `{id}`), so it is refused here."""
        if not isinstance(image_id, str) or not _ID.fullmatch(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        return image_id

    def get(self, image_id: str) -> Image:
        return Image.from_json(self._json(self._request("GET", f"/images/{self._id(image_id)}")))

    def list(self, limit: int = 100) -> Iterator[Image]:
        """Every image, newest first, following the cursor page by page (`limit` is the
        page size, 1–1000)."""
        cursor = None
        seen = set()
        while True:
            params = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = self._json(self._request("GET", "/images", params=params))
            if not isinstance(page.get("images"), list):
                raise ProgimageError(200, "unreadable_answer", "a list answer without images")
            for obj in page["images"]:
                yield Image.from_json(obj)
            cursor = page.get("next_cursor")
            if not cursor:
                return
            # A server (or a proxy) that hands back a cursor it gave before would page for
            # ever (a black-box tester's fake server: one image 26,942 times in the CLI).
            if cursor in seen:
                raise ProgimageError(200, "unreadable_answer", "the list answered a cursor it had given before")
            seen.add(cursor)

    def delete(self, image_id: str) -> None:
        r = self._request("DELETE", f"/images/{self._id(image_id)}")
        if r.status_code != 204:  # a proxy's page is no delete
            raise ProgimageError(r.status_code, "unexpected_answer", f"expected 204, got {r.status_code}")

    # -- URLs, offline
    def path(self, image_id: str, ops: Union[str, Sequence[str]] = (), format: str = "jpg") -> str:
        fmt = ALIASES.get(format.lower().lstrip("."), format.lower().lstrip("."))
        if fmt not in FORMATS + ("auto",):
            raise ValueError(f"unknown format {format!r}")
        # `auto`: the service redirects to the format the browser's Accept asks for; a
        # `quality` is allowed, as the lossy targets take it (the server drops it for png).
        segments = canonical_ops(ops, "jpg" if fmt == "auto" else fmt)
        return f"/images/{self._id(image_id)}" + ("/" + "/".join(segments) if segments else "") + f".{fmt}"

    def url(self, image_id: str, ops: Union[str, Sequence[str]] = (), format: str = "jpg") -> str:
        """The absolute URL of a conversion or transform, signed (`?sig=`) with a signing key."""
        path = self.path(image_id, ops, format)
        if self.signing_key:
            return f"{self._link_base}{path}?sig={self._sign(path)}"
        return self._link_base + path

    def upload_url(self, expires: int, max_bytes: Optional[int] = None) -> str:
        """A signed upload URL for a browser: accepted without the API key until `expires`."""
        if not self.signing_key:
            raise ValueError("signed upload URLs need the signing key")
        if max_bytes is not None and int(max_bytes) < 1:
            raise ValueError("max_bytes must be positive")  # 0 used to drop the limit silently
        query = f"expires={int(expires)}" + (f"&max_bytes={int(max_bytes)}" if max_bytes is not None else "")
        return f"{self._link_base}/images?{query}&sig={self._sign('POST /images?' + query)}"

    def fetch(self, image_id: str, ops: Union[str, Sequence[str]] = (), format: str = "jpg") -> bytes:
        """The bytes of a conversion or transform."""
        url = self.url(image_id, ops, format)
        r = self._request("GET", url[len(self._link_base):])
        if r.status_code != 200 or not r.headers.get("Content-Type", "").startswith("image/"):
            raise ProgimageError(r.status_code, "unexpected_answer",
                                 f"expected an image, got {r.status_code} {r.headers.get('Content-Type', 'without a type')}")
        return r.content

    def _sign(self, text: str) -> str:
        mac = hmac.new(self.signing_key.encode(), text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
