"""Conformance: the whole shared corpus through the stack (select with -m conformance).

1. Every corpus file is uploaded: `valid` -> 201 with the manifest's displayed size and
   the sniffed format; `invalid` -> 415/422 JSON and nothing stored; `either`/`optional`
   -> 201 or a 4xx JSON error, never a 5xx.
2. Every instance still answers /health.
3. Every valid file is converted to all 8 formats; each output decodes with Pillow to
   the displayed size (the original's own extension must return the original bytes).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.conformance

EXTS = ["jpg", "png", "gif", "webp", "bmp", "tiff", "avif", "heic"]
INSTANCE_TYPES = ["api", "convert", "resize", "crop", "rotate", "flip", "grayscale", "blur", "sharpen"]
SLOW = 300
WORKERS = 4

_uploaded: dict[str, dict] = {}
_clock: dict[str, float] = {}


def _upload(stack, tools, corpus, entry):
    data = corpus.read(entry["file"])
    ext = tools.MANIFEST_TO_EXT[entry["format"]]
    name = entry["file"].rsplit("/", 1)[1]
    r = stack.upload(data, name, tools.CONTENT_TYPES[ext], timeout=SLOW)
    return r, data, ext, name


def test_corpus_upload(stack, tools, corpus, corpus_entry_any):
    entry = corpus.require(corpus_entry_any)
    _clock.setdefault("upload_start", time.monotonic())
    expect = entry["expect"]
    displayed = (entry["width"], entry["height"]) if entry["width"] else None
    before = None
    if expect != "valid":
        before = (stack.newest_id(), stack.data_files_except_db())
    r, data, ext, name = _upload(stack, tools, corpus, entry)
    _clock["upload_end"] = time.monotonic()

    if expect == "valid":
        assert r.status_code == 201, f"valid file rejected: {tools.describe(r)}\nnotes: {entry['notes']}"
        obj = r.json()
        tools.check_image_object(obj, data=data, filename=name, fmt=ext, size=displayed)
        _uploaded[entry["file"]] = obj
        g = stack.get(obj["url"])
        assert g.status_code == 200 and g.content == data, "original not returned bit for bit"
        return

    assert r.status_code < 500, f"{expect} file crashed the service: {tools.describe(r)}\nnotes: {entry['notes']}"
    if expect == "invalid":
        tools.json_error(r, {415, 422})
    if r.status_code == 201:
        obj = r.json()
        tools.check_image_object(obj, data=data, filename=name)
        if displayed:
            assert (obj["width"], obj["height"]) == displayed, f"accepted with a wrong size: {obj}"
        _uploaded[entry["file"]] = obj
    else:
        tools.json_error(r, range(400, 500))
        assert stack.newest_id() == before[0], "a rejected upload was stored"
        assert stack.data_files_except_db() == before[1], "a rejected upload left files in the data dir"


def test_instances_healthy_after_corpus_uploads(stack, tools):
    for t in INSTANCE_TYPES:
        r = stack.health(t)
        assert r.status_code == 200, tools.describe(r)
        assert r.json()["instance"] == t


def _convert_one(stack, tools, obj, original, ext):
    """Returns None on success, else a description of the failure."""
    url = f"/images/{obj['id']}.{ext}"
    try:
        r = stack.get(url, timeout=SLOW)
    except Exception as e:  # noqa: BLE001
        return f"{ext}: request failed: {e!r}"
    if r.status_code != 200:
        return f"{ext}: HTTP {r.status_code} {r.content[:300]!r}"
    if ext == obj["format"]:
        return None if r.content == original else f"{ext}: own extension did not return the original bytes"
    if r.headers.get("Content-Type") != tools.CONTENT_TYPES[ext]:
        return f"{ext}: Content-Type {r.headers.get('Content-Type')!r}"
    try:
        im = tools.decode(r.content)
    except Exception as e:  # noqa: BLE001
        return f"{ext}: output does not decode with Pillow: {e!r}"
    if im.format != tools.PIL_FORMATS[ext]:
        return f"{ext}: Pillow reads it as {im.format}"
    if im.size != (obj["width"], obj["height"]):
        return f"{ext}: output {im.size} != displayed {(obj['width'], obj['height'])}"
    if tools.frame_count(im) != 1:
        return f"{ext}: {tools.frame_count(im)} frames"
    return None


def test_corpus_conversions(stack, tools, corpus, corpus_entry_valid, timings):
    entry = corpus.require(corpus_entry_valid)
    _clock.setdefault("convert_start", time.monotonic())
    obj = _uploaded.get(entry["file"])
    if obj is None:  # the upload test was deselected: upload here
        r, _data, _ext, _name = _upload(stack, tools, corpus, entry)
        assert r.status_code == 201, tools.describe(r)
        obj = r.json()
        _uploaded[entry["file"]] = obj
    original = corpus.read(entry["file"])
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda ext: _convert_one(stack, tools, obj, original, ext), EXTS))
    _clock["convert_end"] = time.monotonic()
    timings["conformance conversions (so far)"] = _clock["convert_end"] - _clock["convert_start"]
    failures = [f for f in results if f]
    assert not failures, f"{entry['file']} ({obj['width']}x{obj['height']}): " + "; ".join(failures)


def test_instances_healthy_after_corpus_conversions(stack, tools, timings):
    for t in INSTANCE_TYPES:
        r = stack.health(t)
        assert r.status_code == 200, tools.describe(r)
    if "upload_start" in _clock:
        timings["conformance uploads"] = _clock["upload_end"] - _clock["upload_start"]
    if "convert_start" in _clock:
        timings.pop("conformance conversions (so far)", None)
        timings["conformance conversions"] = _clock["convert_end"] - _clock["convert_start"]
