"""Upload (raw and multipart), metadata, originals served by nginx, and delete."""

import time

import pytest

from conftest import corpus_bytes

# --------------------------------------------------------------------------
# Upload
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_png(tools):
    return tools.png(tools.gradient(120, 80, seed=1))


def test_raw_upload_without_filename(stack, tools, sample_png):
    r = stack.upload(sample_png, content_type="image/png")
    assert r.status_code == 201, tools.describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json", tools.describe(r)
    obj = r.json()
    tools.check_image_object(obj, data=sample_png, filename=None, fmt="png", size=(120, 80))
    assert obj["content_type"] == "image/png"
    assert stack.location(r) == f"/images/{obj['id']}", r.headers.get("Location")


def test_raw_upload_with_filename(stack, tools, sample_png):
    r = stack.upload(sample_png, filename="cat.png", content_type="image/png")
    assert r.status_code == 201, tools.describe(r)
    obj = r.json()
    tools.check_image_object(obj, data=sample_png, filename="cat.png", fmt="png", size=(120, 80))
    assert stack.location(r) == f"/images/{obj['id']}"


def test_a_raw_upload_filename_in_latin1_is_read_as_latin1(stack, tools, sample_png):
    """A page's fetch sends a header's non-ASCII characters as their ISO-8859-1 bytes
    (Chromium: `filename="från page.png"` is 0xE5), which RFC 9110 has read as such: each
    had become U+FFFD (a black-box tester). UTF-8 bytes are still UTF-8."""
    r = stack.post("/images", data=sample_png, headers={
        "Content-Type": "image/png", "Content-Disposition": 'attachment; filename="fr\u00e5n page.png"'.encode("latin-1")})
    assert r.status_code == 201 and r.json()["filename"] == "fr\u00e5n page.png", tools.describe(r)
    r = stack.post("/images", data=sample_png, headers={
        "Content-Type": "image/png", "Content-Disposition": 'attachment; filename="fr\u00e5n.png"'.encode("utf-8")})
    assert r.status_code == 201 and r.json()["filename"] == "fr\u00e5n.png", tools.describe(r)


def test_a_filename_is_at_most_255_code_points_without_any_control_character(stack, tools, sample_png):
    """Counted in characters, one `a` with a million combining accents was a 2 MB filename,
    stored and sent back in every list (a black-box tester: 20 MB with ten million); and C1
    controls stayed (U+009B is a terminal's CSI). A multipart part's filename has no header
    limit in front of it."""
    long_name = "a" + "\u0301" * 1_000_000 + ".png"
    r = stack.post("/images", files=[("file", (long_name, sample_png, "image/png"))])
    assert r.status_code == 201, tools.describe(r)
    assert r.json()["filename"] == "a" + "\u0301" * 254
    r = stack.post("/images", files=[("file", ("a\u009b31m\u0085b\u007f.png", sample_png, "image/png"))])
    assert r.status_code == 201 and r.json()["filename"] == "a31mb.png", tools.describe(r)
    r = stack.post("/images", data=sample_png, headers={
        "Content-Type": "image/png", "Content-Disposition": "attachment; filename*=UTF-8''" + "e%CC%81" * 200})
    assert r.status_code == 201 and r.json()["filename"] == "e\u0301" * 127, tools.describe(r)
    # A cut between whole characters keeps all 255 (one more had always gone).
    r = stack.post("/images", files=[("file", ("x" * 300, sample_png, "image/png"))])
    assert r.status_code == 201 and r.json()["filename"] == "x" * 255, tools.describe(r)


def test_declared_type_and_filename_do_not_change_sniffed_format(stack, tools, sample_png):
    """The format is sniffed from the bytes; a misleading name and type are ignored."""
    r = stack.upload(sample_png, filename="photo.jpg", content_type="image/jpeg")
    assert r.status_code == 201, tools.describe(r)
    obj = r.json()
    tools.check_image_object(obj, data=sample_png, filename="photo.jpg", fmt="png")
    assert obj["url"].endswith(".png")


@pytest.mark.parametrize("file,major,fmt", [
    ("avif/libheif/example.avif", b"heic", "avif"),
    ("avif/libheif/example.avif", b"heix", "avif"),
    ("heif/libheif/example.heic", b"avif", "heic"),
])
def test_a_heif_is_named_by_its_coding_not_its_brand(stack, tools, file, major, fmt):
    """`heic` for HEVC-coded HEIF, `avif` for AV1, whatever the `ftyp` major brand says: the
    original is served under the type its pictures are coded in, and converts."""
    data = bytearray(corpus_bytes(file))
    data[8:12] = major
    r = stack.upload(bytes(data), content_type="application/octet-stream")
    assert r.status_code == 201, tools.describe(r)
    obj = r.json()
    assert (obj["format"], obj["content_type"]) == (fmt, f"image/{fmt}"), obj
    assert obj["url"].endswith(f".{fmt}"), obj
    original = stack.get(obj["url"])
    assert original.status_code == 200 and original.content == bytes(data), tools.describe(original)
    assert original.headers["Content-Type"] == f"image/{fmt}"
    png = stack.get(f"/images/{obj['id']}.png")
    assert png.status_code == 200, tools.describe(png)
    assert tools.decode(png.content).size == (obj["width"], obj["height"])


@pytest.mark.parametrize("content_type", [
    "multipart/mixed", "multipart/related; boundary=x", "multipart/form-data-x", "Multipart/Mixed ; boundary=x",
    "application/jsonx", "application/json-seq", "text/plain", "image/png; charset=binary",
])
def test_raw_upload_with_any_other_content_type(stack, tools, sample_png, content_type):
    """Only `multipart/form-data` and `application/json` themselves (type and subtype, any case,
    parameters after `;`) pick another kind of body: every other type is raw image bytes."""
    r = stack.upload(sample_png, filename="other.png", content_type=content_type)
    assert r.status_code == 201, tools.describe(r)
    tools.check_image_object(r.json(), data=sample_png, filename="other.png", fmt="png", size=(120, 80))


@pytest.mark.parametrize("content_type", ["Multipart/Form-Data; boundary=B", "multipart/form-data ;boundary=B"])
def test_multipart_media_type_in_any_case_and_spacing(stack, tools, sample_png, content_type):
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="form.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + sample_png + b"\r\n--B--\r\n")
    r = stack.post("/images", data=body, headers={"Content-Type": content_type})
    assert r.status_code == 201, tools.describe(r)
    tools.check_image_object(r.json(), data=sample_png, filename="form.png", fmt="png")


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "application/json ; charset=utf-8"])
def test_json_media_type_in_any_case_and_spacing_is_link_ingest(stack, tools, content_type):
    # Link ingest refuses a loopback URL: the answer shows the body was read as a link.
    r = stack.post("/images", data=b'{"url": "http://127.0.0.1/cat.png"}', headers={"Content-Type": content_type})
    tools.json_error(r, 403, "forbidden_url")


def test_metadata_get_matches_upload(stack, tools, sample_png):
    obj = stack.upload_ok(sample_png, "meta.png")
    r = stack.get(f"/images/{obj['id']}")
    assert r.status_code == 200, tools.describe(r)
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json"
    assert r.json() == obj


def test_same_bytes_twice_gives_two_ids(stack, tools, sample_png):
    a = stack.upload_ok(sample_png)
    b = stack.upload_ok(sample_png)
    assert a["id"] != b["id"]
    assert a["sha256"] == b["sha256"]
    assert stack.get(a["url"]).content == stack.get(b["url"]).content == sample_png


def test_multipart_single_file(stack, tools, sample_png):
    r = stack.upload_multipart([("one.png", sample_png, "image/png")])
    assert r.status_code == 201, tools.describe(r)
    obj = r.json()
    tools.check_image_object(obj, data=sample_png, filename="one.png", fmt="png", size=(120, 80))
    assert stack.location(r) == f"/images/{obj['id']}"


def test_multipart_several_files_in_order(stack, tools):
    parts = [
        ("a.png", tools.png(tools.noise(10, 11, seed=3)), "image/png"),
        ("b.jpg", tools.jpeg(tools.gradient(30, 20, seed=4)), "image/jpeg"),
        ("c.gif", tools.encode(tools.quadrants(20, 10).convert("P"), "GIF"), "image/gif"),
    ]
    r = stack.upload_multipart(parts)
    assert r.status_code == 201, tools.describe(r)
    body = r.json()
    assert set(body) == {"images"}, body
    imgs = body["images"]
    assert [o["filename"] for o in imgs] == ["a.png", "b.jpg", "c.gif"]
    expected = [("png", (10, 11)), ("jpg", (30, 20)), ("gif", (20, 10))]
    for obj, (name, data, _), (fmt, size) in zip(imgs, parts, expected):
        tools.check_image_object(obj, data=data, filename=name, fmt=fmt, size=size)
    assert len({o["id"] for o in imgs}) == 3
    for obj, (_, data, _) in zip(imgs, parts):
        assert stack.get(obj["url"]).content == data


def test_multipart_with_one_bad_part_stores_nothing(stack, tools):
    before_ids = stack.list_all_ids()
    before_files = stack.data_files_except_db()
    parts = [
        ("good1.png", tools.png(tools.noise(12, 12, seed=5)), "image/png"),
        ("bad.png", b"this is not an image at all, just text" * 10, "image/png"),
        ("good2.png", tools.png(tools.noise(12, 12, seed=6)), "image/png"),
    ]
    r = stack.upload_multipart(parts)
    assert 400 <= r.status_code < 500, tools.describe(r)
    tools.json_error(r)
    assert stack.list_all_ids() == before_ids, "a failed multipart upload left images behind"
    assert stack.data_files_except_db() == before_files, "a failed multipart upload left files in the data dir"


def test_multipart_with_truncated_last_part_stores_nothing(stack, tools):
    before_ids = stack.list_all_ids()
    before_files = stack.data_files_except_db()
    good = tools.png(tools.noise(40, 40, seed=7))
    parts = [("good.png", good, "image/png"), ("cut.png", good[: len(good) // 2], "image/png")]
    r = stack.upload_multipart(parts)
    tools.json_error(r, 422, "corrupt_image")
    assert stack.list_all_ids() == before_ids
    assert stack.data_files_except_db() == before_files


# --------------------------------------------------------------------------
# Originals
# --------------------------------------------------------------------------

ORIGINAL_SOURCES = {
    "png": lambda t, c: t.png(t.gradient(64, 48, seed=10)),
    "jpg": lambda t, c: t.jpeg(t.gradient(64, 48, seed=11), quality=90),
    "gif": lambda t, c: t.encode(t.quadrants(64, 48).convert("P"), "GIF"),
    "webp": lambda t, c: t.encode(t.gradient(64, 48, seed=12), "WEBP", quality=80),
    "bmp": lambda t, c: t.encode(t.gradient(64, 48, seed=13), "BMP"),
    "tiff": lambda t, c: t.encode(t.gradient(64, 48, seed=14), "TIFF", compression="tiff_lzw"),
    "avif": lambda t, c: c.read("avif/libheif/example.avif"),
    "heic": lambda t, c: c.read("heif/libheif/colors-no-alpha.heic"),
}


def _assert_image_headers(tools, r, ext, data=None):
    assert r.headers.get("Content-Type") == tools.CONTENT_TYPES[ext], tools.describe(r)
    assert r.headers.get("Cache-Control") == tools.CACHE_CONTROL, tools.describe(r)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", tools.describe(r)
    assert r.headers.get("Access-Control-Allow-Origin") == "*", tools.describe(r)
    assert r.headers.get("ETag"), tools.describe(r)
    if data is not None:
        assert r.headers.get("Content-Length") == str(len(data)), tools.describe(r)


@pytest.mark.parametrize("ext", list(ORIGINAL_SOURCES))
def test_original_served_by_nginx(stack, tools, corpus, ext):
    data = ORIGINAL_SOURCES[ext](tools, corpus)
    obj = stack.upload_ok(data, f"orig.{ext}", tools.CONTENT_TYPES[ext])
    assert obj["format"] == ext and obj["url"] == f"/images/{obj['id']}.{ext}"
    assert obj["content_type"] == tools.CONTENT_TYPES[ext]

    r = stack.get(obj["url"])
    assert r.status_code == 200, tools.describe(r)
    assert r.content == data, "original bytes differ"
    assert r.headers.get("X-Cache") == "HIT", tools.describe(r)
    assert "X-Progimage-Instance" not in r.headers, tools.describe(r)
    _assert_image_headers(tools, r, ext, data)

    etag = r.headers["ETag"]
    r304 = stack.get(obj["url"], headers={"If-None-Match": etag})
    assert r304.status_code == 304, tools.describe(r304)
    assert r304.content == b""

    h = stack.head(obj["url"])
    assert h.status_code == 200, tools.describe(h)
    assert h.content == b""
    for k in ("Content-Type", "Content-Length", "ETag", "Cache-Control", "X-Content-Type-Options",
              "Access-Control-Allow-Origin", "X-Cache"):
        assert h.headers.get(k) == r.headers.get(k), (k, dict(h.headers), dict(r.headers))
    assert "X-Progimage-Instance" not in h.headers


def test_original_with_stale_etag_is_200(stack, tools):
    data = tools.png(tools.noise(9, 9, seed=15))
    obj = stack.upload_ok(data)
    r = stack.get(obj["url"], headers={"If-None-Match": '"not-the-etag"'})
    assert r.status_code == 200 and r.content == data, tools.describe(r)


def test_an_original_was_last_modified_when_it_was_created(stack, tools):
    """The original's file is dated at its record's `created_at`, the moment the contract
    gives it: nginx's Last-Modified and ETag then say the same on every box, and of a copy
    written again (a lost local copy fetched from the bucket)."""
    import email.utils
    from datetime import datetime, timezone
    obj = stack.upload_ok(tools.png(tools.noise(9, 9, seed=16)))
    r = stack.get(obj["url"])
    created = datetime.strptime(obj["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert email.utils.parsedate_to_datetime(r.headers["Last-Modified"]) == created, tools.describe(r)
    assert r.headers["ETag"].startswith(f'"{int(created.timestamp()):x}-'), tools.describe(r)


# --------------------------------------------------------------------------
# Delete
# --------------------------------------------------------------------------


def test_delete_removes_every_url_and_file(stack, tools):
    data = tools.png(tools.gradient(90, 60, seed=20))
    obj = stack.upload_ok(data, "doomed.png")
    iid = obj["id"]

    cached = [f"/images/{iid}.webp", f"/images/{iid}.jpg"]
    for u in cached:
        r = stack.get(u)
        assert r.status_code == 200, tools.describe(r)
        assert stack.get(u).headers.get("X-Cache") == "HIT"
    # Transforms may not be implemented yet: cache one if they answer.
    transform = f"/images/{iid}/resize:20x.png"
    if stack.get(transform).status_code == 200:
        cached.append(transform)
    assert stack.paths_mentioning(iid), "expected files of the image on disk before delete"

    r = stack.delete(f"/images/{iid}")
    assert r.status_code == 204, tools.describe(r)
    assert r.content == b""

    never = [f"/images/{iid}.gif", f"/images/{iid}.tiff", f"/images/{iid}/flip:h.png",
             f"/images/{iid}/resize:30x.webp"]
    # Its misspellings too: an alias or a non-canonical chain was a 301 to a 404.
    misspelt = [f"/images/{iid}.jpeg", f"/images/{iid}.tif", f"/images/{iid}/resize:010x.png",
                f"/images/{iid}/flip:vh.png", f"/images/{iid}/rotate:-90.auto"]
    for u in [f"/images/{iid}", obj["url"], *cached, *never, *misspelt]:
        tools.json_error(stack.get(u, allow_redirects=False), 404)
    assert stack.head(obj["url"]).status_code == 404
    assert iid not in stack.list_all_ids()
    # (a background sweep of a renamed-away cache directory gets a few seconds)
    deadline = time.monotonic() + 5
    left = stack.paths_mentioning(iid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = stack.paths_mentioning(iid)
    assert not left, f"files of deleted image {iid} remain: {left}"

    tools.json_error(stack.delete(f"/images/{iid}"), 404, "not_found")


def test_delete_unknown_id_404(stack, tools):
    tools.json_error(stack.delete(f"/images/{tools.random_id(20)}"), 404, "not_found")


def test_delete_malformed_id_404(stack, tools):
    tools.json_error(stack.delete("/images/bad!id"), 404)


@pytest.mark.parametrize("path", ["/images/bad.id!!", "/images/bad!id", "/nowhere", "/images/{random}"])
def test_a_delete_error_is_never_cached(stack, tools, path):
    """A 404 a GET gets is about the URL and may be cached for a day; the same 404 answering a
    DELETE (made by nginx or by the api instance) is about this request: no-store."""
    path = path.format(random=tools.random_id(20))
    r = stack.delete(path)
    tools.json_error(r, 404, "not_found")
    assert r.headers.get("Cache-Control") == "no-store", tools.describe(r)
    r = stack.get(path)
    tools.json_error(r, 404, "not_found")
    assert r.headers.get("Cache-Control") == "public, max-age=86400", tools.describe(r)


def test_api_responses_carry_instance_header(stack, tools):
    """Every response made by a FastCGI instance names it: upload, metadata, list, delete
    and the api's own errors all come from `api`."""
    r = stack.upload(tools.png(tools.noise(8, 8, seed=50)))
    assert r.status_code == 201 and r.headers.get("X-Progimage-Instance") == "api", tools.describe(r)
    iid = r.json()["id"]
    for resp in (stack.get(f"/images/{iid}"), stack.list_page(limit=1)):
        assert resp.status_code == 200 and resp.headers.get("X-Progimage-Instance") == "api", tools.describe(resp)
    bad = stack.upload(b"definitely not an image", content_type="image/png")
    tools.json_error(bad, 415)
    assert bad.headers.get("X-Progimage-Instance") == "api", tools.describe(bad)
    d = stack.delete(f"/images/{iid}")
    assert d.status_code == 204 and d.headers.get("X-Progimage-Instance") == "api", tools.describe(d)


def test_a_multipart_boundary_that_is_not_ascii_is_refused(stack, tools, sample_png):
    """RFC 2046 boundaries are ASCII. Read as Latin-1, `boundary=abc\\xe9` matched the body's
    UTF-8 spelling of it and not its own bytes (a black-box tester): refused either way."""
    for spelt in (b"abc\xe9", b"abc\xc3\xa9"):
        body = (b"--" + spelt + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                b"Content-Type: image/png\r\n\r\n" + sample_png + b"\r\n--" + spelt + b"--\r\n")
        r = stack.post("/images", data=body, headers={"Content-Type": b"multipart/form-data; boundary=abc\xe9"})
        tools.json_error(r, 400, "bad_request")
