"""The fast paths a chain's first operation picks, held to the long way through nginx.

A first blur of a JPEG is blurred as it decodes (`blur:σ.jpg` alone also encodes in the same
pass); a first reduction of an RGB PNG is resampled from the decoder's rows. A chain that
starts with two flips does the same work the long way (whole decode, then each step), so
each fast answer must be byte for byte the long one; the blur is also checked against a
Gaussian computed here, on sampled pixels. A JPEG thumbnail (a shrinking `resize` alone, to
JPEG) is encoded as its rows are resampled; two flips after the resize keep its DCT-scaled
decode and encode the same pixels afterwards."""

import io
import math
import random

import pytest
from PIL import Image

pytestmark = pytest.mark.transforms

# Over 1 << 18 pixels: the size from which the blur takes a second thread.
W, H = 620, 450


def get_bytes(stack, tools, obj, chain: str, made_now: bool = True) -> bytes:
    r = stack.get(f"/images/{obj['id']}/{chain}")
    assert r.status_code == 200, tools.describe(r)
    if made_now:
        assert r.headers.get("X-Cache") == "MISS"
    return r.content


def textured(seed: int, mode: str = "RGB") -> Image.Image:
    """Gradients with noise: smooth enough to compress, busy enough that a blur shows."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (W, H))
    im.putdata([((x * 3 + rnd.randrange(40)) % 256, (y * 2 + rnd.randrange(25)) % 256, ((x ^ y) + rnd.randrange(60)) % 256)
                for y in range(H) for x in range(W)])
    return im.convert(mode)


@pytest.fixture(scope="module")
def colour_jpeg(stack, tools):
    return stack.upload_ok(tools.jpeg(textured(1), quality=92), content_type="image/jpeg")


@pytest.fixture(scope="module")
def grey_jpeg(stack, tools):
    return stack.upload_ok(tools.jpeg(textured(2, "L"), quality=92), content_type="image/jpeg")


@pytest.mark.parametrize("chain", ["blur:2.jpg", "blur:0.7/quality:60.jpg", "blur:5.jpg", "blur:2.png",
                                   "blur:1.5/resize:300x.webp"])
def test_blur_of_a_jpeg_is_the_long_ways_bytes(stack, tools, colour_jpeg, chain):
    assert get_bytes(stack, tools, colour_jpeg, chain) == get_bytes(stack, tools, colour_jpeg, "flip:h/flip:h/" + chain)


def test_blur_of_a_grey_jpeg_stays_one_component(stack, tools, grey_jpeg):
    fast = get_bytes(stack, tools, grey_jpeg, "blur:2.jpg")
    assert fast == get_bytes(stack, tools, grey_jpeg, "flip:h/flip:h/blur:2.jpg")
    im = Image.open(io.BytesIO(fast))
    assert im.mode == "L" and im.size == (W, H)


def test_blur_matches_a_gaussian(stack, tools, colour_jpeg):
    """σ 2, the kernel cut at 3σ and renormalized at the edges, against the source as Pillow
    decodes it; sampled pixels, edges and corners included, within one level."""
    source = Image.open(io.BytesIO(stack.get(f"/images/{colour_jpeg['id']}.jpg").content)).convert("RGB")
    out = Image.open(io.BytesIO(get_bytes(stack, tools, colour_jpeg, "blur:2.png", made_now=False))).convert("RGB")
    sigma, radius = 2.0, math.ceil(3 * 2.0 - 0.5)
    src = source.load()
    res = out.load()
    rnd = random.Random(7)
    points = [(0, 0), (W - 1, H - 1), (0, H - 1), (W - 1, 0), (3, 200), (W - 2, 17)]
    points += [(rnd.randrange(W), rnd.randrange(H)) for _ in range(400)]
    worst = 0.0
    for x, y in points:
        xs = [(i, math.exp(-(i - x) ** 2 / (2 * sigma * sigma))) for i in range(max(0, x - radius), min(W, x + radius + 1))]
        ys = [(j, math.exp(-(j - y) ** 2 / (2 * sigma * sigma))) for j in range(max(0, y - radius), min(H, y + radius + 1))]
        wx, wy = sum(w for _, w in xs), sum(w for _, w in ys)
        for c in range(3):
            exact = sum(wj * sum(wi * src[i, j][c] for i, wi in xs) for j, wj in ys) / (wx * wy)
            worst = max(worst, abs(res[x, y][c] - exact))
    assert worst <= 1.0, f"a channel is {worst:.2f} levels from the Gaussian"


@pytest.mark.parametrize("chain", ["resize:256x256.png", "resize:300x200,force.png", "resize:600x.jpg",
                                   "resize:100x100,pad.png"])
def test_reduction_of_an_rgb_png_is_the_long_ways_bytes(stack, tools, chain):
    obj = stack.upload_ok(tools.png(textured(3)))
    assert get_bytes(stack, tools, obj, chain) == get_bytes(stack, tools, obj, "flip:h/flip:h/" + chain)


@pytest.mark.parametrize("chain", ["resize:300x.jpg", "resize:150x150/quality:60.jpg", "resize:200x100,force.jpg"])
def test_thumbnail_of_a_jpeg_is_the_long_ways_bytes(stack, tools, colour_jpeg, grey_jpeg, chain):
    ops, ext = chain.rsplit(".", 1)
    resize, _, quality = ops.partition("/")
    long_way = f"{resize}/flip:h/flip:h" + (f"/{quality}" if quality else "") + f".{ext}"
    for obj, mode in ((colour_jpeg, "RGB"), (grey_jpeg, "L")):
        fast = get_bytes(stack, tools, obj, chain)
        assert fast == get_bytes(stack, tools, obj, long_way)
        assert Image.open(io.BytesIO(fast)).mode == mode
