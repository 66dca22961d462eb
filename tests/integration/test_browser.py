"""A real browser on another origin (Debian's headless Chromium): every format a browser
shows, `<picture>` and `srcset`, a canvas reading crossorigin pixels (also through a 301),
`fetch()` of metadata, of an error and of exposed headers, and an upload from the page
with a signed upload URL. The page reports what it saw to the server that served it; a
screenshot is kept in tests/integration/.artifacts/{embedded,distributed}/browser.png."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import SIGNING_KEY, Tools, _free_port

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
# One folder a pass: `make test` runs the embedded and distributed passes side by side.
PASS = "distributed" if os.environ.get("PROGIMAGE_TEST_BACKENDS") == "distributed" else "embedded"
ARTIFACTS = Path(os.environ.get("PROGIMAGE_TEST_ARTIFACTS", Path(__file__).parent / ".artifacts" / PASS))
SHOWN = ["jpg", "png", "gif", "webp", "avif", "bmp"]  # HEIC and TIFF: no browser shows them

PAGE = r"""<!doctype html>
<meta charset="utf-8"><title>progimage from another origin</title>
<style>img { width: 96px; margin: 4px; border: 1px solid #ccc } body { font: 14px sans-serif }</style>
<h1>progimage, seen from another origin</h1>
<div id="formats"></div>
<picture><source type="image/avif" srcset="{{BASE}}/images/{{ID}}/resize:120x.avif">
  <img id="picture" crossorigin="anonymous" src="{{BASE}}/images/{{ID}}/resize:120x.jpg"></picture>
<img id="srcset" crossorigin="anonymous" sizes="100px"
  srcset="{{BASE}}/images/{{ID}}/resize:100x.webp 100w, {{BASE}}/images/{{ID}}/resize:200x.webp 200w">
<canvas id="canvas" width="64" height="64"></canvas>
<pre id="out">running…</pre>
<script>
const base = "{{BASE}}", id = "{{ID}}", secureBase = "{{SECURE}}", uploadURL = "{{UPLOAD}}";
const results = {};
function loaded(img) {
  return new Promise((ok, fail) => {
    if (img.complete && img.naturalWidth) return ok(img);
    img.onload = () => ok(img); img.onerror = () => fail(new Error("no load: " + img.src));
  });
}
async function canvasPixel(src) {
  const img = new Image(); img.crossOrigin = "anonymous"; img.src = src;
  await loaded(img);
  const c = document.getElementById("canvas").getContext("2d");
  c.clearRect(0, 0, 64, 64); c.drawImage(img, 0, 0, 64, 64);
  return Array.from(c.getImageData(8, 8, 1, 1).data);   // throws if tainted
}
async function step(name, f) {
  try { results[name] = {ok: true, value: await f()}; }
  catch (e) { results[name] = {ok: false, error: String(e)}; }
}
(async () => {
  for (const ext of {{FORMATS}}) {
    await step("format_" + ext, async () => {
      const img = document.createElement("img"); img.crossOrigin = "anonymous";
      img.src = `${base}/images/${id}/resize:90x.${ext}`;
      document.getElementById("formats").appendChild(img);
      await loaded(img); return [img.naturalWidth, img.naturalHeight];
    });
  }
  await step("picture", async () => { const i = document.getElementById("picture"); await loaded(i); return i.currentSrc; });
  await step("srcset", async () => { const i = document.getElementById("srcset"); await loaded(i); return i.currentSrc; });
  await step("canvas", () => canvasPixel(`${base}/images/${id}.png`));
  await step("canvas_redirect", () => canvasPixel(`${base}/images/${id}.jpeg`));
  await step("metadata", async () => (await (await fetch(`${base}/images/${id}`)).json()).id);
  await step("error", async () => { const r = await fetch(`${base}/images/AAAAAAAAAAAAAAAAAAAA`);
    return [r.status, (await r.json()).error.code, r.headers.get("Cache-Control")]; });
  await step("headers", async () => { const r = await fetch(`${base}/images/${id}/resize:90x.png`);
    return [r.headers.get("ETag"), r.headers.get("X-Cache"), r.headers.get("X-Progimage-Cache")]; });
  await step("upload", async () => {
    const c = document.getElementById("canvas");
    const blob = await new Promise(ok => c.toBlob(ok, "image/png"));
    const r = await fetch(secureBase + uploadURL, {method: "POST", body: blob, headers: {"Content-Type": "image/png"}});
    const body = await r.json();
    return [r.status, r.headers.get("Location"), body.width, body.height, body.error ? body.error.code + ": " + body.error.message : null];
  });
  document.getElementById("out").textContent = JSON.stringify(results, null, 1);
  await fetch("/results", {method: "POST", body: JSON.stringify(results)});
})();
</script>
"""


class PageServer:
    """Serves the page on its own origin and receives the page's results."""

    def __init__(self, page: str):
        self.page = page.encode()
        self.results: dict | None = None
        self.received = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(server.page)))
                self.end_headers()
                self.wfile.write(server.page)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.results = json.loads(body)
                server.received.set()
                self.send_response(204)
                self.end_headers()

        self.port = _free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def chromium(*args: str, profile: Path) -> list[str]:
    return [BROWSER, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
            "--disable-extensions", f"--user-data-dir={profile}", *args]


@pytest.fixture(scope="module")
def browser_run(stack, secure_stack):
    if not BROWSER:
        pytest.fail("no chromium: `make test` installs Debian's chromium", pytrace=False)
    source = Image.new("RGB", (240, 160), (20, 160, 220))
    image = stack.upload_ok(Tools.png(source), "browser.png")
    query = f"expires={int(time.time()) + 600}&max_bytes=1000000"
    mac = hmac.new(SIGNING_KEY.encode(), f"POST /images?{query}".encode(), hashlib.sha256).digest()
    upload = f"/images?{query}&sig={base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    # The page's own origin is 127.0.0.1:{port}; the service is reached as localhost:{port}:
    # another host and another port, so every request below is cross-origin.
    # One pass over distinct placeholders: a value put in (the signature is random base64url)
    # is never searched again, so a signature that happens to contain "ID" stays intact.
    values = {"SECURE": f"http://localhost:{secure_stack.port}", "BASE": f"http://localhost:{stack.port}",
              "UPLOAD": upload, "FORMATS": json.dumps(SHOWN), "ID": image["id"]}
    page = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], PAGE)
    server = PageServer(page)
    profile = Path(tempfile.mkdtemp(prefix="progimage-chromium-"))
    proc = subprocess.Popen(chromium(f"--remote-debugging-port={_free_port()}", f"http://127.0.0.1:{server.port}/",
                                     profile=profile),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        got = server.received.wait(90)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "browser.png"
    subprocess.run(chromium(f"--screenshot={shot}", "--window-size=1000,800", "--virtual-time-budget=15000",
                            f"http://127.0.0.1:{server.port}/", profile=profile),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, start_new_session=True)
    server.close()
    shutil.rmtree(profile, ignore_errors=True)
    assert got, "the page never reported its results"
    return server.results, image


def ok(results: dict, name: str):
    entry = results[name]
    assert entry["ok"], f"{name}: {entry.get('error')}"
    return entry["value"]


@pytest.mark.parametrize("ext", SHOWN)
def test_every_browser_format_displays(browser_run, ext):
    results, _ = browser_run
    assert ok(results, f"format_{ext}") == [90, 60]


def test_picture_picks_avif_and_srcset_picks_a_width(browser_run):
    results, _ = browser_run
    assert ok(results, "picture").endswith("/resize:120x.avif")
    assert ok(results, "srcset").endswith(("/resize:100x.webp", "/resize:200x.webp"))


def test_a_canvas_reads_crossorigin_pixels_also_through_a_redirect(browser_run):
    results, _ = browser_run
    for name in ("canvas", "canvas_redirect"):
        r, g, b, a = ok(results, name)
        assert abs(r - 20) <= 6 and abs(g - 160) <= 6 and abs(b - 220) <= 6 and a == 255, (name, r, g, b, a)


def test_fetch_reads_metadata_errors_and_exposed_headers(browser_run):
    results, image = browser_run
    assert ok(results, "metadata") == image["id"]
    assert ok(results, "error") == [404, "not_found", "public, max-age=86400"]
    etag, x_cache, ours = ok(results, "headers")
    assert etag and x_cache in ("HIT", "MISS") and ours == x_cache


def test_a_page_uploads_with_a_signed_upload_url(browser_run):
    results, _ = browser_run
    status, location, width, height, error = ok(results, "upload")
    assert status == 201 and location.startswith("/images/") and (width, height) == (64, 64), (status, error)


def test_the_screenshot_is_kept(browser_run):
    shot = ARTIFACTS / "browser.png"
    assert shot.exists() and Image.open(shot).size == (1000, 800)
