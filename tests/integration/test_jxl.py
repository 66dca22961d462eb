"""JPEG XL (API.md, "JPEG XL"): uploaded as a bare codestream or in its container, converted
to and from, transformed, quality applied, content type image/jxl. The inputs are made by
pillow-jxl-plugin and our outputs read back by it: its own, newer libjxl build (the service
links Debian's 0.7), not code of ours."""

import io
import struct

import pytest
from PIL import Image, ImageChops


SLOW = 300


def codestream(im: Image.Image, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JXL", **params)
    data = buf.getvalue()
    assert data[:2] == b"\xff\x0a", data[:16]
    return data


def container(stream: bytes) -> bytes:
    """The ISO BMFF wrapping of a codestream: signature box, ftyp, then jxlc."""
    signature = b"\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a"
    ftyp = struct.pack(">I", 20) + b"ftypjxl \x00\x00\x00\x00jxl "
    jxlc = struct.pack(">I", 8 + len(stream)) + b"jxlc" + stream
    return signature + ftyp + jxlc


def gradient(w=96, h=64, alpha=False):
    im = Image.new("RGBA" if alpha else "RGB", (w, h))
    im.putdata([(x * 255 // (w - 1), y * 255 // (h - 1), 90, 255 if not alpha or x >= w // 2 else 0)[: 4 if alpha else 3]
                for y in range(h) for x in range(w)])
    return im


def decode(body: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(body))
    assert im.format == "JXL", im.format
    im.load()
    return im


def psnr(a: Image.Image, b: Image.Image) -> float:
    import math
    d = ImageChops.difference(a, b).tobytes()
    mse = sum(v * v for v in d) / len(d)
    return 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)


@pytest.mark.parametrize("wrap", ["codestream", "container"])
def test_upload_is_sniffed_and_kept_bit_for_bit(stack, tools, wrap):
    data = codestream(gradient(), lossless=True)
    if wrap == "container":
        data = container(data)
    obj = stack.upload_ok(data, "g.bin", "application/octet-stream")
    assert (obj["format"], obj["content_type"], obj["width"], obj["height"]) == ("jxl", "image/jxl", 96, 64), obj
    assert obj["frames"] == 1
    r = stack.get(f"/images/{obj['id']}.jxl")
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "image/jxl"


def test_lossless_source_converts_to_exact_pixels(stack, tools):
    src = gradient()
    obj = stack.upload_ok(codestream(src, lossless=True), "g.jxl", "image/jxl")
    r = stack.get(f"/images/{obj['id']}.png", timeout=SLOW)
    assert r.status_code == 200, tools.describe(r)
    out = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert ImageChops.difference(out, src).getbbox() is None


def test_conversion_to_jxl_reads_back(stack, tools):
    src = gradient(160, 100)
    obj = stack.upload_ok(tools.png(src))
    r = stack.get(f"/images/{obj['id']}.jxl", timeout=SLOW)
    assert r.status_code == 200, tools.describe(r)
    assert r.headers["Content-Type"] == "image/jxl" and r.headers.get("X-Progimage-Instance") == "convert"
    out = decode(r.content)
    assert out.size == (160, 100)
    assert psnr(out.convert("RGB"), src) >= 35, psnr(out.convert("RGB"), src)
    assert b"Exif" not in r.content


def test_quality_changes_the_size(stack, tools):
    obj = stack.upload_ok(tools.png(tools.noise(120, 80, seed=7)))
    sizes = {}
    for q in (30, 95):
        r = stack.get(f"/images/{obj['id']}/quality:{q}.jxl", timeout=SLOW)
        assert r.status_code == 200, tools.describe(r)
        decode(r.content)
        sizes[q] = len(r.content)
    assert sizes[30] < sizes[95], sizes


def test_every_quality_encodes(stack, tools):
    # libjxl 0.7 refuses a Butteraugli distance over 25, which the quality curve passed
    # below quality 5: quality 1–4 answered 500. They now get distance 25, the coarsest.
    obj = stack.upload_ok(tools.png(tools.noise(48, 32, seed=11)))
    sizes = {}
    for q in range(1, 101):
        r = stack.get(f"/images/{obj['id']}/quality:{q}.jxl", timeout=SLOW)
        assert r.status_code == 200, (q, tools.describe(r))
        assert decode(r.content).size == (48, 32)
        sizes[q] = len(r.content)
    assert sizes[1] == sizes[4] <= sizes[5] < sizes[100], sizes


def test_alpha_is_kept(stack, tools):
    obj = stack.upload_ok(tools.png(gradient(alpha=True)))
    r = stack.get(f"/images/{obj['id']}.jxl", timeout=SLOW)
    assert r.status_code == 200, tools.describe(r)
    out = decode(r.content).convert("RGBA")
    assert out.getpixel((4, 30))[3] < 10 and out.getpixel((90, 30))[3] > 245


def test_transforms_on_a_jxl_source(stack, tools):
    src = gradient(200, 100)
    obj = stack.upload_ok(codestream(src, quality=95), "g.jxl", "image/jxl")
    r = stack.get(f"/images/{obj['id']}/crop:0,0,100,100/resize:50x.jxl", timeout=SLOW)
    assert r.status_code == 200, tools.describe(r)
    assert r.headers.get("X-Progimage-Instance") == "resize"
    out = decode(r.content).convert("RGB")
    assert out.size == (50, 50)
    assert psnr(out, src.crop((0, 0, 100, 100)).resize((50, 50), Image.Resampling.BOX)) >= 28


def test_animation_counts_its_frames_and_converts_its_first(stack, tools):
    from pathlib import Path
    data = (Path(__file__).parent / "fixtures" / "animated-3-frames.jxl").read_bytes()
    obj = stack.upload_ok(data, "a.jxl", "image/jxl")
    assert (obj["format"], obj["frames"], obj["width"], obj["height"]) == ("jxl", 3, 40, 30), obj
    r = stack.get(f"/images/{obj['id']}.png", timeout=SLOW)
    assert r.status_code == 200, tools.describe(r)
    first = Image.open(io.BytesIO(r.content)).convert("RGB").getpixel((20, 15))
    assert first[0] > 240 and first[1] < 15 and first[2] < 15, first  # the red first frame


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jxl_is_refused(stack, tools, cut):
    data = codestream(tools.noise(64, 64, seed=3), quality=90)
    r = stack.upload(data[: int(len(data) * cut)], "t.jxl", "image/jxl")
    tools.json_error(r, 422, "corrupt_image")
