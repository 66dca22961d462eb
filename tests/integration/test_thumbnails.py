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
    worst = max(abs(a - b) for pixel in out.get_flattened_data() for a, b in zip(pixel, expected))
    assert worst <= 1, f"{op}: {sorted(set(out.get_flattened_data()))[:4]} against {expected}"


def waves(width: int, height: int) -> Image.Image:
    """Slow waves across and down (periods of 96 and 80 px) over a gradient: smooth
    enough that every good reduction agrees, and a pixel out of place shows (a 4-px shift
    is up to 26 levels)."""
    import math
    across = bytes(round(128 + 100 * math.sin(2 * math.pi * x / 96)) for x in range(width))
    down = [round(128 + 100 * math.sin(2 * math.pi * y / 80)) for y in range(height)]
    red = Image.frombytes("L", (width, height), across * height)
    green = Image.frombytes("L", (width, height), b"".join(bytes([v]) * width for v in down))
    return Image.merge("RGB", (red, green, Image.linear_gradient("L").resize((width, height))))


def psnr(a: Image.Image, b: Image.Image) -> float:
    import math
    assert a.size == b.size, (a.size, b.size)
    pa, pb = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    mse = sum((x - y) ** 2 for x, y in zip(pa, pb)) / len(pa)
    return 99.0 if mse == 0 else 10 * math.log10(255 ** 2 / mse)


@pytest.mark.pixels_only
@pytest.mark.parametrize("op", ["resize:200x", "resize:400x", "resize:200x150,fill", "resize:200x200,pad",
                                "resize:100x100,force"])
@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_jpeg_whose_sides_are_not_whole_blocks_shrinks_in_place(stack, tools, op, ext):
    """A JPEG decoded at 1/8 has ⌈1601 / 8⌉ = 201 columns for 200.125 columns of picture
    (the last is a partial block): resampled as 201 whole ones, the content stretched
    towards the right and bottom, 4 source pixels at the edge (29.6 dB at 200 px wide against
    the same pixels uploaded as a PNG, for a photo). An EXIF-turned one, whose partial
    block may come first, is decoded at a scale that leaves none. Each output is compared with the same URL on a
    PNG of the JPEG's own decoded pixels (which takes no DCT scaling), and a fit with
    Pillow's tent of those pixels."""
    data = tools.jpeg(waves(1601, 1203), quality=95, subsampling=0)
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    from_jpeg = stack.upload_ok(data, content_type="image/jpeg")
    from_png = stack.upload_ok(tools.png(decoded))
    a, b = (Image.open(io.BytesIO(stack.get(f"/images/{o['id']}/{op}.{ext}").content)).convert("RGB")
            for o in (from_jpeg, from_png))
    # Measured: PNG 46.5–55.3 dB (before: 25.4–40.4), JPEG 39.5–47.1 (25.7–38.8).
    assert psnr(a, b) >= (44 if ext == "png" else 36), op
    if op == "resize:200x" and ext == "png":
        assert psnr(a, decoded.resize(a.size, Image.Resampling.BILINEAR)) >= 44  # 48.0 (25.3)


@pytest.mark.pixels_only
@pytest.mark.parametrize("orientation", [2, 3, 6, 8])
def test_an_exif_turned_jpeg_whose_sides_are_not_whole_blocks_shrinks_in_place(stack, tools, orientation):
    """Turned after the decode, the partial block can come first (orientation 3: top and
    left), where mapping by the extent would be off by most of a block: such a file is
    decoded at a scale that leaves no partial block. Compared as above, with the upright
    pixels uploaded as a PNG."""
    from PIL import ImageOps
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = tools.jpeg(waves(1601, 1203), quality=95, subsampling=0, exif=exif.tobytes())
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    from_jpeg = stack.upload_ok(data, content_type="image/jpeg")
    from_png = stack.upload_ok(tools.png(upright))
    a, b = (Image.open(io.BytesIO(stack.get(f"/images/{o['id']}/resize:200x.png").content)).convert("RGB")
            for o in (from_jpeg, from_png))
    assert psnr(a, b) >= 44, orientation


def red_bars(width: int, height: int) -> Image.Image:
    """16-px red bars on white: chroma edges a coarse chroma decode smears."""
    im = Image.new("RGB", (width, height), "white")
    for x in (100, 501, 903, 1300):
        im.paste((255, 0, 0), (x, 0, x + 16, height))
    return im


@pytest.mark.parametrize("op", ["resize:200x", "resize:300x", "resize:400x"])
@pytest.mark.parametrize("subsampling", [1, 2])  # 4:2:2 and 4:2:0
def test_a_shrunk_jpeg_keeps_its_chroma(stack, tools, op, subsampling):
    """libjpeg scales 4:2:2 chroma with the luma (4:2:0 chroma gets a finer scale of its
    own), so at 1/8 one chroma sample stood for 16 columns: red bars came out dark-edged,
    with pink beside them (peak R−G 189 for 249). Such files are decoded at 1/2 at most.
    Compared with the general path (`flip:h/flip:h/…` decodes whole)."""
    data = tools.jpeg(red_bars(1601, 1203), quality=95, subsampling=subsampling)
    obj = stack.upload_ok(data, content_type="image/jpeg")
    fast, whole = (Image.open(io.BytesIO(stack.get(f"/images/{obj['id']}/{chain}.png").content)).convert("RGB")
                   for chain in (op, f"flip:h/flip:h/{op}"))
    # Measured: 4:2:2 45.6–51.5 dB (before: 31.3 at 200 px, 34.9 at 300), 4:2:0 39.0–45.6.
    assert psnr(fast, whole) >= 37, op


@pytest.mark.parametrize("size,edge", [((1600, 1203), "row"), ((1025, 1025), "column")])
@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_a_partial_last_block_weighs_what_it_covers(stack, tools, size, edge, ext):
    """A large reduction is area-averaged first, and a side that is not a multiple of the
    box leaves a last box of a row or two; weighed as a whole sample it was 14% of a 1×1
    placeholder: black with a white last row came out 37 where the mean is 0.2 (a photo's
    placeholder 9 levels dark). It weighs its share now, on the PNG path and the JPEG one
    (whose last DCT block is partial the same way)."""
    w, h = size
    im = Image.new("RGB", size)
    im.paste((255, 255, 255), (0, h - 1, w, h) if edge == "row" else (w - 1, 0, w, h))
    data = tools.png(im) if ext == "png" else tools.jpeg(im, quality=95, subsampling=0)
    obj = stack.upload_ok(data)
    for op in ("resize:1x1", "resize:3x2,force"):
        out = Image.open(io.BytesIO(stack.get(f"/images/{obj['id']}/{op}.png").content)).convert("L")
        assert max(out.get_flattened_data()) <= 3, (op, list(out.get_flattened_data()))
