"""Error answers: always JSON {"error": {"code", "message"}} with the contract's status."""

import io
import json
import random
import re
import socket
import struct
import zlib

import pytest
import requests

# Signatures the service supports (a random body must not start with one).
SIGNATURES = [b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"BM", b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"]


def _random_body(seed=1234, n=4096):
    rnd = random.Random(seed)
    while True:
        data = rnd.randbytes(n)
        if not any(data.startswith(s) for s in SIGNATURES) and data[4:8] != b"ftyp":
            return data


SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<rect width="10" height="10" fill="red"/></svg>\n')
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
HTML = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><img src=x></body></html>\n"


# --------------------------------------------------------------------------
# Upload errors
# --------------------------------------------------------------------------


def _assert_nothing_stored(stack, before_newest, before_files):
    assert stack.newest_id() == before_newest, "a rejected upload was stored"
    assert stack.data_files_except_db() == before_files, "a rejected upload left files in the data dir"


@pytest.mark.parametrize("ctype", ["image/png", "image/jpeg", "application/octet-stream", "application/json",
                                   "multipart/form-data; boundary=x", "multipart/mixed"])
def test_empty_body_400(stack, tools, ctype):
    r = stack.post("/images", data=b"", headers={"Content-Type": ctype})
    tools.json_error(r, 400, "empty_body")


def test_empty_multipart_part_400(stack, tools):
    r = stack.upload_multipart([("empty.png", b"", "image/png")])
    tools.json_error(r, 400, "empty_body")


@pytest.mark.parametrize(
    "name,body,ctype",
    [
        ("random", _random_body(), "image/png"),
        ("svg", SVG, "image/svg+xml"),
        ("svg-as-png", SVG, "image/png"),
        ("pdf", PDF, "image/png"),
        ("html", HTML, "image/jpeg"),
        ("text", b"hello world\n", "image/gif"),
        ("ico", b"\x00\x00\x01\x00\x01\x00\x10\x10" + b"\x00" * 64, "image/x-icon"),
    ],
)
def test_unsupported_media_type_415(stack, tools, name, body, ctype):
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(body, filename=f"x.{name}", content_type=ctype)
    tools.json_error(r, 415, "unsupported_media_type")
    _assert_nothing_stored(stack, *before)


def test_unsupported_media_type_multipart(stack, tools):
    r = stack.upload_multipart([("doc.pdf", PDF, "application/pdf")])
    tools.json_error(r, 415, "unsupported_media_type")


def _truncated_jpeg(tools):
    data = tools.jpeg(tools.noise(256, 256, seed=30), quality=90)
    return data[: len(data) // 2]


def _truncated_png(tools):
    data = tools.png(tools.noise(256, 256, seed=31))
    return data[: len(data) // 2]


def _bad_crc_png(tools):
    data = bytearray(tools.png(tools.noise(32, 32, seed=32)))
    # flip a byte inside the IDAT payload (its CRC no longer matches)
    i = data.index(b"IDAT") + 20
    data[i] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("kind", ["jpeg-truncated", "png-truncated", "png-bad-crc", "gif-truncated"])
def test_corrupt_image_422(stack, tools, kind):
    if kind == "jpeg-truncated":
        body, ctype = _truncated_jpeg(tools), "image/jpeg"
    elif kind == "png-truncated":
        body, ctype = _truncated_png(tools), "image/png"
    elif kind == "png-bad-crc":
        body, ctype = _bad_crc_png(tools), "image/png"
    else:
        gif = tools.encode(tools.noise(128, 128, seed=33).convert("P"), "GIF")
        body, ctype = gif[: len(gif) // 2], "image/gif"
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(body, content_type=ctype)
    tools.json_error(r, 422, "corrupt_image")
    _assert_nothing_stored(stack, *before)


def _apng(tools) -> bytes:
    frames = [tools.noise(32, 24, seed=s) for s in (40, 41, 42)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = out.getvalue()
    assert data.count(b"fdAT") == 2, "Pillow wrote no APNG"
    return data


@pytest.mark.parametrize("damage", ["last fdAT", "tEXt"])
def test_a_png_with_any_chunk_failing_its_crc_is_refused(stack, tools, damage):
    """API.md: a bad checksum is `422 corrupt_image`. libpng checks the chunks it takes as
    critical; a bad CRC in an ancillary chunk it drops with a warning, and an APNG's later
    frames are ancillary to it: a byte flipped in the last frame was accepted (a black-box
    tester). The same file undamaged is taken, its frames counted as the first's."""
    data = bytearray(_apng(tools))
    if damage == "last fdAT":
        data[data.rindex(b"fdAT") + 12] ^= 0x55
    else:
        text = b"tEXt" + b"Comment\0hello"
        chunk = struct.pack(">I", len(text) - 4) + text + struct.pack(">I", zlib.crc32(text) ^ 1)
        at = data.index(b"IDAT") - 4
        data[at:at] = chunk
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(bytes(data), content_type="image/png")
    tools.json_error(r, 422, "corrupt_image")
    _assert_nothing_stored(stack, *before)
    assert stack.upload(_apng(tools), content_type="image/png").status_code == 201


def test_huge_png_header_is_image_too_large(stack, tools):
    body = tools.huge_png_header(60000, 60000)
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(body, content_type="image/png", timeout=30)
    tools.json_error(r, 422, "image_too_large")
    _assert_nothing_stored(stack, *before)


# --------------------------------------------------------------------------
# Size limits (a separate stack with small limits)
# --------------------------------------------------------------------------

LIMIT = 200_000  # conftest.LIMITED_ENV["PROGIMAGE_MAX_UPLOAD_BYTES"]
MAX_PIXELS = 1_000_000  # conftest.LIMITED_ENV["PROGIMAGE_MAX_PIXELS"]


def test_limited_stack_env(limited_stack):
    assert limited_stack.extra_env["PROGIMAGE_MAX_UPLOAD_BYTES"] == str(LIMIT)
    assert limited_stack.extra_env["PROGIMAGE_MAX_PIXELS"] == str(MAX_PIXELS)


def test_upload_over_limit_413_raw(limited_stack, tools):
    body = tools.padded_png(300_000)
    r = limited_stack.upload(body, content_type="image/png")
    tools.json_error(r, 413, "payload_too_large")


def test_upload_over_limit_413_multipart(limited_stack, tools):
    body = tools.padded_png(300_000)
    r = limited_stack.upload_multipart([("big.png", body, "image/png")])
    tools.json_error(r, 413, "payload_too_large")


def test_upload_one_byte_over_limit_413(limited_stack, tools):
    r = limited_stack.upload(tools.padded_png(LIMIT + 1), content_type="image/png")
    tools.json_error(r, 413, "payload_too_large")


def test_upload_exactly_at_limit_accepted_raw(limited_stack, tools):
    body = tools.padded_png(LIMIT)
    r = limited_stack.upload(body, content_type="image/png")
    assert r.status_code == 201, tools.describe(r)
    assert r.json()["bytes"] == LIMIT


def test_multipart_overhead_does_not_count(limited_stack, tools):
    """An image of exactly the limit in a multipart body (which is then larger) is accepted."""
    body = tools.padded_png(LIMIT, seed=1)
    r = limited_stack.upload_multipart([("exact.png", body, "image/png")])
    assert r.status_code == 201, tools.describe(r)
    assert r.json()["bytes"] == LIMIT
    assert len(r.request.body) > LIMIT


def test_far_over_limit_refused_by_nginx_as_json_413(limited_stack, tools):
    body = tools.padded_png(5_000_000)
    try:
        r = limited_stack.upload(body, content_type="image/png", timeout=60)
    except requests.ConnectionError as e:  # pragma: no cover - depends on nginx lingering_close
        pytest.fail(f"connection dropped instead of a JSON 413: {e}")
    tools.json_error(r, 413, "payload_too_large")


def test_far_over_limit_multipart_413(limited_stack, tools):
    body = tools.padded_png(5_000_000, seed=2)
    try:
        r = limited_stack.upload_multipart([("huge.png", body, "image/png")], timeout=60)
    except requests.ConnectionError as e:  # pragma: no cover
        pytest.fail(f"connection dropped instead of a JSON 413: {e}")
    tools.json_error(r, 413, "payload_too_large")


def test_max_pixels_boundary(limited_stack, tools):
    from PIL import Image

    ok = tools.png(Image.new("L", (1000, 1000), 128))
    r = limited_stack.upload(ok, content_type="image/png")
    assert r.status_code == 201, tools.describe(r)
    too_many = tools.png(Image.new("L", (1001, 1000), 128))
    r = limited_stack.upload(too_many, content_type="image/png")
    tools.json_error(r, 422, "image_too_large")


def test_max_pixels_is_pixels_not_side(limited_stack, tools):
    from PIL import Image

    r = limited_stack.upload(tools.png(Image.new("L", (20000, 1), 7)), content_type="image/png")
    assert r.status_code == 201, tools.describe(r)
    assert (r.json()["width"], r.json()["height"]) == (20000, 1)


# --------------------------------------------------------------------------
# Paths, ids and methods
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/", "/imagesx", "/images/a/b/c/d/e/f/g/h/i/j/k.png"])
def test_unknown_path_404(stack, tools, path):
    tools.json_error(stack.get(path), 404)


def test_unknown_path_404_code(stack, tools):
    tools.json_error(stack.get("/nope"), 404, "not_found")


def test_unknown_well_formed_id_404(stack, tools):
    iid = tools.random_id(22)
    for path in (f"/images/{iid}", f"/images/{iid}.png", f"/images/{iid}.webp", f"/images/{iid}/flip:h.png"):
        tools.json_error(stack.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/images/bad!id.png",
        "/images/bad!id",
        "/images/short.png",  # fewer than 16 characters
        "/images/" + "a" * 65 + ".png",  # more than 64
        "/images/aaaaaaaaaaaaaaaa.png.png",
        # An encoded NUL, which nginx refuses in any path: it had been `400 bad_request`.
        "/images/aaaaaaaaaaaaaaaa%00.png",
        "/images/%00aaaaaaaaaaaaaaaa",
        "/images/aaaaaaaaaaaaaaaa/resize:10x%00.png",
    ],
)
def test_malformed_id_404(stack, tools, path):
    r = stack.get(path)
    tools.json_error(r, 404)
    assert r.headers.get("Cache-Control") == "public, max-age=86400" and r.headers.get("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize(
    "path",
    [
        "/images/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/images/abc%2F..%2F..%2Fetc.png", "/images/%2e%2e/%2e%2e/etc/passwd",
        "/images/..%2F..%2Fetc", "/images/../../etc", "/images/.%2E/%2E./x.png", "/images/..%2f..",
    ],
)
def test_path_traversal_is_json_404(stack, tools, path):
    """A `..` that climbs above the root, in any spelling, is something else in an id position:
    the URL's 404, as for a GET so for a DELETE (nginx refuses it before any location; it had
    been `400 bad_request`)."""
    r = stack.get(path)
    tools.json_error(r, 404, "not_found")
    assert b"root:" not in r.content
    assert r.headers.get("Cache-Control") == "public, max-age=86400", tools.describe(r)
    r = stack.delete(path)
    tools.json_error(r, 404, "not_found")
    assert r.headers.get("Cache-Control") == "no-store", tools.describe(r)


@pytest.mark.parametrize("path", ["/images/%00", "/images/aaaaaaaaaaaaaaaa%00.png", "/images/..%2f..%2fetc",
                                  "/images/%2e%2e/%2e%2e/etc/passwd"])
def test_a_preflight_on_a_path_nginx_refuses_is_still_a_preflight(stack, tools, path):
    """API.md: `OPTIONS` on any path answers 204. On a path with an encoded NUL or a `..`
    above the root, which nginx refuses before any location, it was that page's 404 (a
    black-box tester)."""
    r = stack.request("OPTIONS", path, headers={"Origin": "https://site.example", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204 and not r.content, tools.describe(r)
    assert r.headers.get("Access-Control-Allow-Origin") == "*", tools.describe(r)
    assert "GET" in r.headers.get("Access-Control-Allow-Methods", ""), tools.describe(r)
    assert r.headers.get("Access-Control-Max-Age") == "86400", tools.describe(r)
    tools.json_error(stack.get(path), 404, "not_found")


def test_unknown_extension_404_for_existing_image(stack, tools):
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=40)))
    for ext in ("xyz", "svg", "PNG", "exe", ""):
        path = f"/images/{obj['id']}.{ext}"
        tools.json_error(stack.get(path), 404)


def test_delete_on_original_url_405(stack, tools):
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=41)))
    r = stack.delete(obj["url"])
    tools.json_error(r, 405, "method_not_allowed")
    allow = r.headers.get("Allow", "")
    assert "GET" in allow.upper(), tools.describe(r)
    assert "DELETE" not in allow.upper(), tools.describe(r)
    # still there
    assert stack.get(obj["url"]).status_code == 200


def test_put_on_images_405(stack, tools):
    r = stack.request("PUT", "/images", data=b"x", headers={"Content-Type": "image/png"})
    tools.json_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow"), tools.describe(r)


def test_a_405_message_names_what_allow_names(stack, tools):
    """The instance's 405 listed its methods without OPTIONS, which its Allow header names."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=44)))
    for method, path in (("PUT", f"/images/{obj['id']}"), ("PATCH", "/images"), ("PUT", "/health/api")):
        r = stack.request(method, path, data=b"x")
        tools.json_error(r, 405, "method_not_allowed")
        allow = r.headers["Allow"]
        assert allow.endswith("OPTIONS") and f"(allowed: {allow})" in r.json()["error"]["message"], tools.describe(r)


def test_post_on_health_is_json_4xx(stack, tools):
    r = stack.post("/health/api", data=b"{}", headers={"Content-Type": "application/json"})
    tools.json_error(r, range(400, 500))


def test_post_on_metadata_url_405(stack, tools):
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=42)))
    r = stack.post(f"/images/{obj['id']}", data=b"x", headers={"Content-Type": "image/png"})
    tools.json_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow"), tools.describe(r)


@pytest.mark.parametrize("path,allowed", [("/images", "GET, HEAD, POST, OPTIONS"),
                                          ("/images/{id}", "GET, HEAD, DELETE, OPTIONS"),
                                          ("/images/{id}.png", "GET, HEAD, OPTIONS"),
                                          ("/images/{id}/resize:9x.png", "GET, HEAD, OPTIONS"),
                                          ("/images/{id}.auto", "GET, HEAD, OPTIONS"),
                                          ("/health/resize", "GET, HEAD, OPTIONS"),
                                          ("/openapi.yaml", "GET, HEAD, OPTIONS")])
def test_trace_405_allows_what_the_path_allows(stack, tools, path, allowed):
    """TRACE never reaches an instance: nginx's own 405 lists the path's methods as the
    instances' 405 does (the collection POST, an image DELETE)."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=43)))
    r = stack.request("TRACE", path.format(id=obj["id"]))
    tools.json_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == allowed, tools.describe(r)
    assert r.headers.get("Cache-Control") == "no-store", tools.describe(r)


@pytest.mark.parametrize("method", ["TRACE", "PUT", "GET"])
@pytest.mark.parametrize("path", ["/nope", "/health/nope", "/images/{id}/x", "/imagesx"])
def test_an_unknown_path_is_404_whatever_the_method(stack, tools, method, path):
    """API.md: an unknown path is `404 not_found`. nginx refuses TRACE before it looks for
    a location, and its 405 listed reads for paths that allow nothing."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=44)))
    r = stack.request(method, path.format(id=obj["id"]))
    tools.json_error(r, 404, "not_found")
    assert "Allow" not in r.headers, tools.describe(r)


def test_unsatisfiable_range_416_is_json_and_not_stored(stack, tools):
    """A Range past the end is nginx's 416, on a HIT and on a MISS: JSON, and never stored
    (the image's own caching headers, added before nginx knew the range, stay beside it;
    no-store is the stronger)."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=44)))
    for path in (obj["url"], f"/images/{obj['id']}/resize:5x.png"):
        r = stack.get(path, headers={"Range": "bytes=99999999-"})
        tools.json_error(r, 416, "range_not_satisfiable")
        assert "no-store" in r.headers.get("Cache-Control", ""), tools.describe(r)
        assert r.headers.get("Access-Control-Allow-Origin") == "*", tools.describe(r)  # once: "*, *" fails
        assert re.fullmatch(r"bytes \*/\d+", r.headers.get("Content-Range", "")), tools.describe(r)


def test_a_failed_precondition_412_is_json(stack, tools):
    """If-Match and If-Unmodified-Since the file does not meet: nginx's 412, JSON like
    every error (it was nginx's HTML page, without CORS)."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=45)))
    for path in (obj["url"], f"/images/{obj['id']}/resize:5x.png"):
        stack.get(path)  # made, so the second is a HIT too
        for headers in ({"If-Match": '"nope"'}, {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}):
            # nginx closes the connection after its 412 (not after its 416): a new one each.
            r = stack.get(path, headers={**headers, "Connection": "close"})
            tools.json_error(r, 412, "precondition_failed")
            assert r.headers.get("Access-Control-Allow-Origin") == "*", tools.describe(r)


def test_if_modified_since_after_the_file_is_304(stack, tools):
    """RFC 9110 §13.1.3: not modified since the date sent, whatever that date (nginx's
    default matched only the exact Last-Modified)."""
    import email.utils
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=46)))
    for path in (obj["url"], f"/images/{obj['id']}/resize:5x.png"):
        first = stack.get(path)
        later = email.utils.parsedate_to_datetime(first.headers["Last-Modified"]).timestamp() + 20
        r = stack.get(path, headers={"If-Modified-Since": email.utils.formatdate(later, usegmt=True)})
        assert r.status_code == 304, tools.describe(r)
        r = stack.get(path, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        assert r.status_code == 200, tools.describe(r)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("suffix", [".jpeg", ".tif", "/resize:0100x.jpeg"])
def test_an_alias_allows_what_an_image_allows(stack, tools, method, suffix):
    """A 301 is for GET and HEAD; another method on an alias is a 405, as on the image."""
    obj = stack.upload_ok(tools.png(tools.noise(8, 8, seed=47)))
    r = stack.request(method, f"/images/{obj['id']}{suffix}")
    tools.json_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS" and "no-store" in r.headers["Cache-Control"], tools.describe(r)


def raw_exchange(stack, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /images HTTP/9.9\r\nHost: a\r\n\r\n", 505),
    (b"POST /images HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n", 501),
    (b"GET /images HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20000 + b"\r\nConnection: close\r\n\r\n", 400),
])
def test_protocol_errors_nginx_makes_are_json(stack, request_bytes, status):
    """Errors nginx answers before any location (a version it does not speak, a transfer
    encoding it does not take, headers over its buffers): JSON with no-store, not its
    HTML pages."""
    head, _, body = raw_exchange(stack, request_bytes).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split(" ")[1] == str(status), lines
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers.get("content-type") == "application/json", lines
    assert headers.get("cache-control") == "no-store", lines
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_an_animated_gif_cut_after_its_first_frame_is_refused(stack, tools):
    """Cut exactly where the second frame begins (no trailer): the first frame is whole,
    but the file is not. Only the trailer missing, every frame there, is tolerated."""
    frames = [tools.noise(24, 16, seed=70 + i).convert("P") for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=80)
    gif = buf.getvalue()
    # Walk the blocks to the end of the first image's data: where the second frame's begin.
    at = 13 + ((3 << ((gif[10] & 7) + 1)) if gif[10] & 0x80 else 0)

    def skip_sub_blocks(at):
        while gif[at]:
            at += 1 + gif[at]
        return at + 1
    while gif[at] != 0x2C:
        at = skip_sub_blocks(at + 2)  # an extension: 21, label, sub-blocks
    flags = gif[at + 9]
    at += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0) + 1  # descriptor, table, LZW size
    second = skip_sub_blocks(at)
    assert gif[second] in (0x21, 0x2C), "the first frame ends where the second's blocks begin"
    tools.json_error(stack.post("/images", data=gif[:second], headers={"Content-Type": "image/gif"}),
                     422, "corrupt_image")
    whole_but_trailer = stack.post("/images", data=gif[:-1], headers={"Content-Type": "image/gif"})
    assert whole_but_trailer.status_code == 201 and whole_but_trailer.json()["frames"] == 4, tools.describe(whole_but_trailer)
