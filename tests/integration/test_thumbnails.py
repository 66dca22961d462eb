"""The JPEG thumbnail fast path (DCT-scaled decode resampled straight to the first size)
must give the same kind of image as every other path: opaque, the right size, upright."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conftest import corpus_dir


def photo_jpeg(width=1600, height=1200) -> bytes:
    """A smooth gradient photo stand-in, large enough for a 1/4 DCT decode."""
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("ext", ["png", "webp", "avif", "tiff", "gif"])
@pytest.mark.parametrize("op", ["resize:300x", "resize:300x225,force", "resize:300x300,fill"])
def test_jpeg_thumbnails_are_opaque(stack, tools, op, ext):
    obj = stack.upload_ok(photo_jpeg(), content_type="image/jpeg")
    r = stack.get(f"/images/{obj['id']}/{op}.{ext}", timeout=60)
    assert r.status_code == 200, tools.describe(r)
    im = Image.open(io.BytesIO(r.content))
    im.load()
    if "A" in im.getbands() or im.info.get("transparency") is not None:
        alpha = im.convert("RGBA").getchannel("A")
        assert alpha.getextrema() == (255, 255), f"{op}.{ext}: a JPEG thumbnail came out transparent"


def test_rotated_jpeg_thumbnail_is_upright(stack):
    """EXIF orientation 6 (stored portrait-rotated): the thumbnail is landscape like the upright file."""
    base = corpus_dir() / "jpeg" / "exif-orientation"
    sizes = []
    for name in ("Landscape_1.jpg", "Landscape_6.jpg"):
        obj = stack.upload_ok((base / name).read_bytes(), content_type="image/jpeg")
        r = stack.get(f"/images/{obj['id']}/resize:300x.png")
        sizes.append(Image.open(io.BytesIO(r.content)).size)
    assert sizes[0] == sizes[1] == (300, 200)


@pytest.mark.parametrize("op", ["resize:1x1", "resize:3x2,force", "resize:12x"])
def test_tiny_thumbnails_keep_the_colour(stack, tools, op):
    """A 16000×800 panorama to a few pixels (a placeholder colour): after the 1/8 DCT decode
    that is still a 2000 → 1 reduction, thousands of filter taps, which came out levels dark
    before such reductions were area-averaged first. One flat colour, so that every output
    pixel must be that colour."""
    data = tools.jpeg(Image.new("RGB", (16000, 800), (250, 128, 30)), quality=95)
    expected = Image.open(io.BytesIO(data)).convert("RGB").getpixel((8000, 400))
    obj = stack.upload_ok(data, content_type="image/jpeg")
    r = stack.get(f"/images/{obj['id']}/{op}.png", timeout=60)
    assert r.status_code == 200, tools.describe(r)
    out = Image.open(io.BytesIO(r.content)).convert("RGB")
    worst = max(abs(a - b) for pixel in out.getdata() for a, b in zip(pixel, expected))
    assert worst <= 1, f"{op}: {sorted(set(out.getdata()))[:4]} against {expected}"
