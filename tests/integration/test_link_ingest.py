"""Link ingest: POST /images with {"url": ...} (JSON) or a multipart `url` field.

A small HTTP server in the test process (on 127.0.0.1) plays the remote site. The default
stack has no allow list, so every loopback/private spelling must be refused *before any
connection is made* (the server counts its hits). The secure stack allows 127.0.0.0/8 and
has PROGIMAGE_FETCH_TIMEOUT_S=2.
"""

import base64
import contextlib
import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SIGNING_KEY

pytestmark = pytest.mark.link_ingest


class _Site:
    def __init__(self, tools):
        self.png = tools.png(tools.gradient(60, 40, seed=77))
        self.hits = 0
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with site.lock:
                    site.hits += 1
                p = self.path
                if p.startswith("/img/"):
                    return self._send(200, site.png, "image/png")
                if p == "/page.html":
                    return self._send(200, b"<!DOCTYPE html><html><body>hi</body></html>", "text/html")
                if p.startswith("/redirect/"):
                    n = int(p.split("/")[2])
                    target = "/img/final.png" if n <= 1 else f"/redirect/{n - 1}"
                    return self._redirect(target)
                if p == "/to-private":
                    return self._redirect("http://10.255.255.1/img/x.png")
                if p == "/to-scheme":
                    return self._redirect("file:///etc/passwd")
                if p == "/slow.png":
                    time.sleep(6)
                    return self._send(200, site.png, "image/png")
                if p == "/error500":
                    return self._send(500, b"oops", "text/plain")
                return self._send(404, b"not here", "text/plain")

            def _send(self, status, body, ctype):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site(tools):
    s = _Site(tools)
    yield s
    s.close()


@pytest.fixture(scope="module")
def key(secure_stack):
    return secure_stack.extra_env["PROGIMAGE_API_KEY"].split(",")[0]


def ingest(stack, url, key=None, timeout=60):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return stack.post("/images", json={"url": url}, headers=headers, timeout=timeout)


# --------------------------------------------------------------------------
# Refused before connecting (default stack: no allow list)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "localhost", "127.1", "0x7f000001", "2130706433", "017700000001", "0x7f.0.0.1",
        "[::1]", "[::ffff:127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]", "0.0.0.0", "[::]",
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "224.0.0.1", "[fe80::1]", "[fc00::1]",
    ],
)
def test_private_and_loopback_hosts_forbidden(stack, tools, site, host):
    before = site.hits
    r = ingest(stack, f"http://{host}:{site.port}/img/a.png", timeout=30)
    tools.json_error(r, 403, "forbidden_url")
    assert site.hits == before, f"the service connected to {host} before refusing it"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/",
                                 "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)"])
def test_non_http_schemes_forbidden(stack, tools, url):
    tools.json_error(ingest(stack, url), 403, "forbidden_url")


def test_multipart_url_field_forbidden_too(stack, tools, site):
    r = stack.post("/images", files=[("url", (None, site.url("/img/a.png")))])
    tools.json_error(r, 403, "forbidden_url")


# --------------------------------------------------------------------------
# Fetching (secure stack: 127.0.0.0/8 allowed, 2 s timeout)
# --------------------------------------------------------------------------


def test_ingest_json_url(secure_stack, tools, site, key):
    r = ingest(secure_stack, site.url("/img/cat.png?size=big"), key)
    assert r.status_code == 201, tools.describe(r)
    obj = r.json()
    tools.check_image_object(obj, data=site.png, filename="cat.png", fmt="png", size=(60, 40))
    assert secure_stack.location(r) == f"/images/{obj['id']}"
    assert secure_stack.get(obj["url"]).content == site.png


def test_ingest_multipart_url_field(secure_stack, tools, site, key):
    r = secure_stack.post("/images", files=[("url", (None, site.url("/img/dog.png")))],
                          headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, tools.describe(r)
    tools.check_image_object(r.json(), data=site.png, filename="dog.png", fmt="png")


def test_a_signed_upload_urls_max_bytes_bounds_what_links_bring_in(secure_stack, tools, site):
    """`max_bytes` bounds the upload, whatever brings the image: a JSON link or a form's
    `url` parts (all of them together) under a 1000-byte grant stored 205 KB before."""
    def signed(max_bytes: int) -> str:
        query = f"expires={int(time.time()) + 120}&max_bytes={max_bytes}"
        mac = hmac.new(SIGNING_KEY.encode(), f"POST /images?{query}".encode(), hashlib.sha256).digest()
        return f"/images?{query}&sig={base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    size = len(site.png)
    link = {"url": site.url("/img/limited.png")}
    tools.json_error(secure_stack.post(signed(size - 1), json=link), 413, "payload_too_large")
    tools.json_error(secure_stack.post(signed(size - 1), files=[("url", (None, link["url"]))]), 413,
                     "payload_too_large")
    two = [("url", (None, link["url"])), ("url", (None, site.url("/img/again.png")))]
    tools.json_error(secure_stack.post(signed(size + size // 2), files=two), 413, "payload_too_large")
    # A file part and a link share the grant (the file's bytes leave less for the link).
    with_file = [("file", ("own.png", site.png, "image/png")), ("url", (None, link["url"]))]
    tools.json_error(secure_stack.post(signed(size + size // 2), files=with_file), 413, "payload_too_large")
    r = secure_stack.post(signed(size), json=link)
    assert r.status_code == 201, tools.describe(r)
    assert r.json()["bytes"] == size
    r = secure_stack.post(signed(2 * size + 1000), files=two)
    assert r.status_code == 201, tools.describe(r)


def test_ingest_needs_api_key(secure_stack, tools, site):
    tools.json_error(ingest(secure_stack, site.url("/img/cat.png")), 401, "unauthorized")


def test_three_redirects_followed(secure_stack, tools, site, key):
    r = ingest(secure_stack, site.url("/redirect/3"), key)
    assert r.status_code == 201, tools.describe(r)
    assert r.json()["sha256"] == tools.sha256(site.png)


def test_four_redirects_fail(secure_stack, tools, site, key):
    tools.json_error(ingest(secure_stack, site.url("/redirect/4"), key), 422, "fetch_failed")


def test_redirect_to_private_host_forbidden(secure_stack, tools, site, key):
    tools.json_error(ingest(secure_stack, site.url("/to-private"), key), 403, "forbidden_url")


def test_redirect_to_other_scheme_forbidden(secure_stack, tools, site, key):
    tools.json_error(ingest(secure_stack, site.url("/to-scheme"), key), 403, "forbidden_url")


@pytest.mark.parametrize("path", ["/missing.png", "/error500"])
def test_non_2xx_is_fetch_failed(secure_stack, tools, site, key, path):
    tools.json_error(ingest(secure_stack, site.url(path), key), 422, "fetch_failed")


def test_connection_refused_is_fetch_failed(secure_stack, tools, key):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tools.json_error(ingest(secure_stack, f"http://127.0.0.1:{port}/a.png", key), 422, "fetch_failed")


def test_timeout_is_fetch_failed(secure_stack, tools, site, key):
    t0 = time.monotonic()
    r = ingest(secure_stack, site.url("/slow.png"), key, timeout=30)
    elapsed = time.monotonic() - t0
    tools.json_error(r, 422, "fetch_failed")
    assert elapsed < 5.5, f"PROGIMAGE_FETCH_TIMEOUT_S=2 but the answer took {elapsed:.1f}s"


@contextlib.contextmanager
def links_stalling(stack, site, key, count, settle):
    """`count` link ingests of a server that answers after the fetch timeout, started
    `settle` seconds before the body runs; yields the list their answers land in, full
    once the block is left."""
    answers = []
    lock = threading.Lock()

    def stall():
        r = ingest(stack, site.url("/slow.png"), key, timeout=60)
        with lock:
            answers.append(r)

    stalls = [threading.Thread(target=stall) for _ in range(count)]
    for t in stalls:
        t.start()
    time.sleep(settle)
    try:
        yield answers
    finally:
        for t in stalls:
            t.join()


def assert_answered_within_a_second(stack, paths, limit=1.0):
    for path in paths:
        t0 = time.monotonic()
        r = stack.get(path, timeout=30)
        assert r.status_code == 200 and time.monotonic() - t0 < limit, (path, time.monotonic() - t0)


def test_slow_remote_servers_do_not_hold_up_other_requests(secure_stack, tools, site, key):
    """Link ingests waiting on a slow server (each up to PROGIMAGE_FETCH_TIMEOUT_S) do not
    queue metadata reads and lists behind them: the api instance has threads to spare for
    waiting, and decodes only one image a core at once. With as many threads as cores, six
    stalled fetches had held a metadata read for three timeouts."""
    image = secure_stack.upload_ok(tools.png(tools.noise(8, 8, seed=78)), headers={"Authorization": f"Bearer {key}"})
    with links_stalling(secure_stack, site, key, count=6, settle=0.5) as answers:
        assert_answered_within_a_second(secure_stack, (f"/images/{image['id']}", "/images?limit=1", "/health/api"))
    assert [r.status_code for r in answers] == [422] * 6


def test_more_stalled_links_than_threads_do_not_hold_up_other_requests(secure_stack, tools, site, key):
    """With every slot for link fetches stalled on a slow server, further links are refused
    at once (`503 instance_unavailable`) instead of holding the api instance's threads,
    and its queue, while metadata waits: 20 stalled links had held a metadata read for
    their timeouts over and over (40: 19.5 s)."""
    image = secure_stack.upload_ok(tools.png(tools.noise(8, 8, seed=79)), headers={"Authorization": f"Bearer {key}"})
    with links_stalling(secure_stack, site, key, count=20, settle=1.5) as answers:
        assert_answered_within_a_second(secure_stack, (f"/images/{image['id']}", "/images?limit=1"))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {422, 503} and 503 in codes and 422 in codes, codes
    for r in answers:
        tools.json_error(r, r.status_code, "fetch_failed" if r.status_code == 422 else "instance_unavailable")


def test_links_waiting_for_a_slot_leave_threads_for_metadata(secure_stack, tools, site, key):
    """While the fetches in flight are young, links that find every slot taken wait for
    one, but only as many as the api instance has threads for beside the `threads` that
    links never hold: a metadata read 0.3 s into 20 stalled links is answered at once. When
    waiters could take every spare thread, it waited for them to give up (~0.7 s), and in a
    CI run under load for 2.5 s."""
    image = secure_stack.upload_ok(tools.png(tools.noise(8, 8, seed=80)), headers={"Authorization": f"Bearer {key}"})
    with links_stalling(secure_stack, site, key, count=20, settle=0.3) as answers:
        assert_answered_within_a_second(secure_stack, (f"/images/{image['id']}", "/images?limit=1"), limit=0.4)
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {422, 503} and 503 in codes and 422 in codes, codes


def test_a_burst_of_quick_links_is_all_stored(secure_stack, tools, site, key):
    """Fewer fetch slots than threads does not refuse ordinary bursts: a fetch that finds
    the slots taken by young fetches waits for one."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: ingest(secure_stack, site.url(f"/img/burst{i}.png"), key), range(32)))
    assert [r.status_code for r in answers] == [201] * 32, [tools.describe(r) for r in answers if r.status_code != 201]


def test_fetched_bytes_get_the_upload_checks(secure_stack, tools, site, key):
    tools.json_error(ingest(secure_stack, site.url("/page.html"), key), 415, "unsupported_media_type")


@pytest.mark.parametrize("body", [{}, {"url": ""}, {"url": 5}, {"link": "http://x/"}])
def test_bad_json_body_is_4xx(secure_stack, tools, key, body):
    r = secure_stack.post("/images", json=body, headers={"Authorization": f"Bearer {key}"})
    tools.json_error(r, range(400, 500))
