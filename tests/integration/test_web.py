"""Web-ready HTTP (API.md, "Web"): CORS on every answer, preflights answered by nginx, the
same caching headers on a MISS as on the HIT that follows (through a caching proxy too),
cacheable errors, signed upload URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, SIGNING_KEY, Stack, Tools, _free_port

EXPOSED = {"etag", "x-cache", "x-progimage-cache", "location"}
CACHING = ("ETag", "Last-Modified", "Accept-Ranges", "Cache-Control", "Content-Type", "Content-Length")
DAY = "public, max-age=86400"


def exposed(r) -> set[str]:
    return {h.strip().lower() for h in r.headers.get("Access-Control-Expose-Headers", "").split(",") if h.strip()}


def assert_cors_read(r):
    assert r.headers.get("Access-Control-Allow-Origin") == "*", Tools.describe(r)
    assert exposed(r) >= EXPOSED, Tools.describe(r)


@pytest.fixture(scope="module")
def image(stack):
    return stack.upload_ok(Tools.png(Tools.noise(120, 80, seed=7)), "web.png")


# ---- CORS -------------------------------------------------------------------------


def test_every_read_answer_carries_cors(stack, image):
    i = image["id"]
    paths = [
        image["url"],                      # original (HIT)
        f"/images/{i}/resize:50x.webp",     # MISS, then HIT below
        f"/images/{i}/resize:50x.webp",
        f"/images/{i}",                     # metadata
        "/images?limit=2",                  # list
        "/health/api",
        f"/images/{i}.jpeg",                # 301 from nginx
        f"/images/{i}/flip:vh.png",         # 301 from an instance (non-canonical)
        "/images/AAAAAAAAAAAAAAAAAAAA",     # 404 from an instance
        f"/images/{i}/resize:0x0.png",      # 400 bad_operation
        "/nothing-here",                    # 404 from nginx
    ]
    for path in paths:
        r = stack.get(path, headers={"Origin": "http://page.example"})
        assert_cors_read(r)


def test_images_allow_timing_and_name_their_cache_state(stack, image):
    path = f"/images/{image['id']}/resize:40x.png"
    for expected in ("MISS", "HIT"):
        r = stack.get(path)
        assert r.status_code == 200
        assert r.headers.get("Timing-Allow-Origin") == "*"
        assert r.headers.get("X-Cache") == expected and r.headers.get("X-Progimage-Cache") == expected


def test_redirects_to_images_allow_timing_too(stack, image):
    """A redirect hop without Timing-Allow-Origin hides the timings of the whole chain from
    the page: Chromium's Resource Timing gave an image asked for by `.auto` no sizes or
    times (a black-box probe)."""
    i = image["id"]
    for path, status in ((f"/images/{i}.auto", 302), (f"/images/{i}.jpeg", 301), (f"/images/{i}/flip:vh.png", 301)):
        r = stack.get(path, headers={"Accept": "image/webp"}, allow_redirects=False)
        assert r.status_code == status, Tools.describe(r)
        assert r.headers.get("Timing-Allow-Origin") == "*", Tools.describe(r)


def test_answers_that_change_with_writes_are_never_stored(stack):
    """README: "Keep our Cache-Control (images a year, immutable; URL-only errors a day; the
    rest no-store)". Metadata, lists and health went without one, which a CDN with a default
    lifetime kept (a deleted image's metadata with it)."""
    obj = stack.upload_ok(Tools.png(Tools.noise(8, 8, seed=11)), "stored.png")
    answers = [stack.upload(Tools.png(Tools.noise(8, 8, seed=12)), "new.png"),
               stack.get(f"/images/{obj['id']}"), stack.get("/images?limit=1"), stack.get("/health/api"),
               stack.get("/health/resize"), stack.delete(f"/images/{obj['id']}")]
    for r in answers:
        assert r.status_code in (200, 201, 204), Tools.describe(r)
        assert r.headers.get("Cache-Control") == "no-store", Tools.describe(r)


@pytest.mark.parametrize("path", ["/images", "/images/AAAAAAAAAAAAAAAAAAAA", "/images/AAAAAAAAAAAAAAAAAAAA/resize:9x.png",
                                  "/health/resize", "/anything"])
def test_preflight_is_answered_by_nginx_for_every_path(stack, path):
    r = stack.request("OPTIONS", path, headers={
        "Origin": "http://page.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204, Tools.describe(r)
    assert "X-Progimage-Instance" not in r.headers, "a preflight reached an instance"
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", "http://page.example")
    methods = {m.strip() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert {"GET", "POST", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in r.headers.get("Access-Control-Allow-Headers", "").split(",")}
    assert {"authorization", "content-type", "content-disposition"} <= allowed
    assert int(r.headers.get("Access-Control-Max-Age", "0")) > 0


def test_writes_from_any_origin_under_make_run(stack):
    r = stack.post("/images", data=Tools.png(Tools.noise(8, 8)), headers={
        "Origin": "http://anywhere.example", "Content-Type": "image/png"})
    assert r.status_code == 201
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", "http://anywhere.example")
    assert "location" in exposed(r)


@pytest.fixture(scope="module")
def origins_stack(stack_factory):
    return stack_factory({"PROGIMAGE_CORS_ORIGINS": "http://app.example,https://admin.example:8443"})


def test_writes_only_from_the_configured_origins(origins_stack):
    body = Tools.png(Tools.noise(8, 8, seed=3))
    ok = origins_stack.post("/images", data=body, headers={"Origin": "http://app.example", "Content-Type": "image/png"})
    assert ok.status_code == 201 and ok.headers.get("Access-Control-Allow-Origin") == "http://app.example"
    # The answer repeats the Origin it was sent: caches are told (the Fetch standard).
    assert "Origin" in ok.headers.get("Vary", ""), Tools.describe(ok)
    before = origins_stack.list_all_ids()
    # Refused, not only unreadable: a form's POST from any page needs no preflight. (The
    # refusal itself is readable: nginx answers its error page as a GET.)
    other = origins_stack.post("/images", data=body, headers={"Origin": "http://evil.example", "Content-Type": "image/png"})
    Tools.json_error(other, 403, "forbidden")
    # An Origin of several words, one of them allowed, is not that origin (it had passed).
    for origin in ("http://evil.example http://app.example", "http://evil.example, x"):
        r = origins_stack.post("/images", data=body, headers={"Origin": origin, "Content-Type": "image/png"})
        Tools.json_error(r, 403, "forbidden")
    assert origins_stack.list_all_ids() == before
    Tools.json_error(origins_stack.delete(ok.headers["Location"], headers={"Origin": "http://evil.example"}), 403)
    assert origins_stack.get(ok.headers["Location"]).status_code == 200
    # Clients that are not browsers send no Origin.
    assert origins_stack.post("/images", data=body, headers={"Content-Type": "image/png"}).status_code == 201
    pre = origins_stack.request("OPTIONS", "/images", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "Access-Control-Allow-Origin" not in pre.headers
    pre = origins_stack.request("OPTIONS", "/images", headers={
        "Origin": "https://admin.example:8443", "Access-Control-Request-Method": "DELETE"})
    assert pre.headers.get("Access-Control-Allow-Origin") == "https://admin.example:8443"
    assert "Origin" in pre.headers.get("Vary", "")
    # Reads stay open to every origin.
    image = ok.json()
    r = origins_stack.get(image["url"], headers={"Origin": "http://evil.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "*" and "Vary" not in r.headers
    listed = origins_stack.get("/images", headers={"Origin": "http://evil.example"})
    assert listed.headers.get("Access-Control-Allow-Origin") == "*" and "Vary" not in listed.headers


# ---- a MISS looks like its HIT ------------------------------------------------------


def test_a_miss_carries_the_caching_headers_of_the_hit_that_follows(stack, image):
    for tail in ("resize:64x.jpg", "crop:0,0,60,40/resize:30x.webp"):
        path = f"/images/{image['id']}/{tail}"
        miss, hit = stack.get(path), stack.get(path)
        assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
        assert miss.content == hit.content
        for h in CACHING:
            assert miss.headers.get(h) == hit.headers.get(h), f"{h}: MISS {miss.headers.get(h)!r}, HIT {hit.headers.get(h)!r}"
        assert miss.headers["Accept-Ranges"] == "bytes"


def test_a_range_is_206_on_a_miss_and_on_a_hit(stack, image):
    path = f"/images/{image['id']}/resize:70x.png"
    full = None
    for expected in ("MISS", "HIT"):
        r = stack.get(path, headers={"Range": "bytes=10-29"})
        assert r.status_code == 206 and r.headers["X-Cache"] == expected, Tools.describe(r)
        assert len(r.content) == 20
        full = full or stack.get(path).content
        assert r.content == full[10:30]
        assert r.headers["Content-Range"] == f"bytes 10-29/{len(full)}"


def test_a_conditional_miss_is_answered_like_a_hit(stack, image):
    path = f"/images/{image['id']}/resize:33x.gif"
    etag = stack.get(path).headers["ETag"]
    i = image["id"]
    (stack.cache_dir / i[:2] / i[2:4] / i / "resize:33x.gif").unlink()
    r = stack.get(path, headers={"If-None-Match": etag})
    assert r.headers["X-Cache"] == "MISS"
    # Made again: the same ETag when made within the same second (nginx's ETag is mtime and
    # size), then 304 as a HIT would answer; else a new ETag and the whole file.
    assert r.status_code == (304 if r.headers["ETag"] == etag else 200), Tools.describe(r)
    r = stack.get(path, headers={"If-None-Match": r.headers["ETag"]})
    assert r.status_code == 304 and r.headers["X-Cache"] == "HIT"


# ---- errors: cacheable when about the URL alone ----------------------------------------


def test_errors_about_the_url_are_cacheable_for_a_day(stack, limited_stack, image):
    i = image["id"]
    assert stack.get("/images/AAAAAAAAAAAAAAAAAAAA").headers.get("Cache-Control") == DAY
    assert stack.get("/images/AAAAAAAAAAAAAAAAAAAA.png").headers.get("Cache-Control") == DAY
    assert stack.get("/images/AAAAAAAAAAAAAAAAAAAA/resize:10x.png").headers.get("Cache-Control") == DAY
    assert stack.get("/nothing-here").headers.get("Cache-Control") == DAY
    r = stack.get(f"/images/{i}/resize:0x0.png")
    Tools.json_error(r, 400, "bad_operation")
    assert r.headers.get("Cache-Control") == DAY
    small = limited_stack.upload_ok(Tools.png(Tools.noise(50, 50)))
    r = limited_stack.get(f"/images/{small['id']}/resize:5000x.png")
    Tools.json_error(r, 422, "image_too_large")
    assert r.headers.get("Cache-Control") == DAY


def test_other_errors_are_never_stored(stack, secure_stack, limited_stack):
    r = secure_stack.post("/images", data=b"x", headers={"Content-Type": "image/png"})
    Tools.json_error(r, 401)
    assert r.headers.get("Cache-Control") == "no-store"
    img = secure_stack.upload_ok(Tools.png(Tools.noise(8, 8)), headers={"Authorization": "Bearer it-key-one"})
    r = secure_stack.get(f"/images/{img['id']}/resize:5x.png")
    Tools.json_error(r, 403, "bad_signature")
    assert r.headers.get("Cache-Control") == "no-store"
    r = limited_stack.post("/images", data=b"\0" * 400_000, headers={"Content-Type": "image/png"})
    Tools.json_error(r, 413)
    assert r.headers.get("Cache-Control") == "no-store"
    r = stack.post("/images", data=b"not an image", headers={"Content-Type": "image/png"})
    assert r.status_code in (415, 422)
    assert r.headers.get("Cache-Control") == "no-store"
    # A 404 to a write is about that request, not the URL.
    r = stack.delete("/images/AAAAAAAAAAAAAAAAAAAA")
    Tools.json_error(r, 404)
    assert r.headers.get("Cache-Control") == "no-store"


# ---- signed upload URLs -----------------------------------------------------------------


def upload_url(query: str, key: str = SIGNING_KEY) -> str:
    mac = hmac.new(key.encode(), f"POST /images?{query}".encode(), hashlib.sha256).digest()
    return f"/images?{query}&sig={base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_the_documented_upload_signature_example():
    # README, "Using it from a web page": key `secret`, the same formula as the service's.
    readme = (REPO_ROOT / "README.md").read_text()
    for query, sig in (("expires=1767225600", "FiFWmc4jaK3vGDeoLI9nDDLD0ymkTPMJnkpwT4sX8kY"),
                       ("expires=1767225600&max_bytes=5000000", "7cRXxti2CB9mP_lb6GHs0IfOeXykZ5J3yAexxl1Xu_A")):
        assert upload_url(query, key="secret") == f"/images?{query}&sig={sig}"
        assert sig in readme


def test_a_signed_upload_url_needs_no_api_key_until_it_expires(secure_stack):
    body = Tools.png(Tools.noise(16, 16, seed=11))
    url = upload_url(f"expires={int(time.time()) + 120}")
    for _ in range(2):  # any number of times
        r = secure_stack.post(url, data=body, headers={"Content-Type": "image/png", "Origin": "http://page.example"})
        assert r.status_code == 201, Tools.describe(r)
    expired = upload_url(f"expires={int(time.time()) - 1}")
    Tools.json_error(secure_stack.post(expired, data=body, headers={"Content-Type": "image/png"}), 403, "bad_signature")
    # Valid until `expires`, not through its second: early in that second it has expired.
    # Not in its first tenth: the service's clock (`time()`, the kernel's coarse one) can
    # read the second before for a few milliseconds after the boundary, and a fresh clone's
    # run once posted at .000x and was let in.
    while not 0.1 < time.time() % 1 < 0.5:
        time.sleep(0.02)
    ending = upload_url(f"expires={int(time.time())}")
    Tools.json_error(secure_stack.post(ending, data=body, headers={"Content-Type": "image/png"}), 403, "bad_signature")
    forged = upload_url(f"expires={int(time.time()) + 120}", key="not-the-key")
    Tools.json_error(secure_stack.post(forged, data=body, headers={"Content-Type": "image/png"}), 403, "bad_signature")
    # The signature covers max_bytes: dropping it breaks the signature.
    limited = upload_url(f"expires={int(time.time()) + 120}&max_bytes=100")
    stripped = limited.replace("&max_bytes=100", "")
    Tools.json_error(secure_stack.post(stripped, data=body, headers={"Content-Type": "image/png"}), 403, "bad_signature")
    r = secure_stack.post(limited, data=body, headers={"Content-Type": "image/png"})
    Tools.json_error(r, 413, "payload_too_large")
    roomy = upload_url(f"expires={int(time.time()) + 120}&max_bytes={len(body)}")
    assert secure_stack.post(roomy, data=body, headers={"Content-Type": "image/png"}).status_code == 201


def test_max_bytes_counts_image_bytes_not_a_forms_framing(secure_stack):
    """A browser's form upload of a file of exactly `max_bytes` was a 413: the form's
    framing was counted. As for the upload limit, only image bytes count: a raw body, or
    the file parts of a form together."""
    body = Tools.png(Tools.noise(16, 16, seed=12))
    exact = upload_url(f"expires={int(time.time()) + 120}&max_bytes={len(body)}")
    short = upload_url(f"expires={int(time.time()) + 120}&max_bytes={len(body) - 1}")
    r = secure_stack.post(exact, files=[("file", ("a.png", body, "image/png"))], data={"note": "x" * 500})
    assert r.status_code == 201 and r.json()["bytes"] == len(body), Tools.describe(r)
    Tools.json_error(secure_stack.post(short, files=[("file", ("a.png", body, "image/png"))]), 413, "payload_too_large")
    Tools.json_error(secure_stack.post(short, data=body, headers={"Content-Type": "image/png"}), 413, "payload_too_large")
    other = Tools.png(Tools.noise(16, 16, seed=13))
    both = upload_url(f"expires={int(time.time()) + 120}&max_bytes={len(body) + len(other)}")
    two = [("file", ("a.png", body, "image/png")), ("file", ("b.png", other, "image/png"))]
    r = secure_stack.post(both, files=two)
    assert r.status_code == 201 and len(r.json()["images"]) == 2, Tools.describe(r)
    tight = upload_url(f"expires={int(time.time()) + 120}&max_bytes={len(body) + len(other) - 1}")
    before = secure_stack.list_all_ids()
    Tools.json_error(secure_stack.post(tight, files=two), 413, "payload_too_large")
    assert secure_stack.list_all_ids() == before


# ---- through a caching proxy (a CDN stand-in) -------------------------------------------------


@pytest.fixture(scope="module")
def caching_proxy(stack):
    root = Path(tempfile.mkdtemp(prefix="progimage-cdn-"))
    port = _free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(f"""
daemon off;
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
    proxy_cache_path {root}/cache keys_zone=cdn:1m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{stack.port};
            proxy_cache cdn;
            proxy_cache_valid 200 206 301 404 10m;
            add_header X-CDN $upstream_cache_status;
        }}
    }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-p", f"{root}/", "-c", f"{root}/nginx.conf", "-e", f"{root}/error.log"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = Stack.__new__(Stack)  # only its HTTP helpers
    proxy.base_url, proxy.port, proxy._local = f"http://127.0.0.1:{port}", port, __import__("threading").local()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            proxy.get("/health/api", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    yield proxy
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)
    shutil.rmtree(root, ignore_errors=True)


def test_through_a_caching_proxy_a_miss_and_a_hit_are_the_same(stack, caching_proxy, image):
    for tail in ("resize:55x.jpg", "resize:56x.webp"):
        path = f"/images/{image['id']}/{tail}"
        first = caching_proxy.get(path)      # origin MISS, stored by the proxy
        assert first.headers["X-Progimage-Cache"] == "MISS" and first.headers["X-CDN"] == "MISS"
        second = caching_proxy.get(path)     # proxy HIT (replays the origin's MISS)
        assert second.headers["X-CDN"] == "HIT"
        direct = stack.get(path)             # origin HIT
        assert direct.headers["X-Progimage-Cache"] == "HIT"
        for h in CACHING:
            assert first.headers.get(h) == direct.headers.get(h), h
        for r in (first, second):
            ranged = caching_proxy.get(path, headers={"Range": "bytes=0-15"})
            assert ranged.status_code == 206 and ranged.content == direct.content[:16], Tools.describe(ranged)


def test_allow_lists_options_too(stack, image):
    for method, path in (("DELETE", image["url"]), ("PUT", "/images"), ("POST", f"/images/{image['id']}")):
        r = stack.request(method, path, data=b"x")
        Tools.json_error(r, 405, "method_not_allowed")
        allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
        assert "OPTIONS" in allow and "GET" in allow, Tools.describe(r)
