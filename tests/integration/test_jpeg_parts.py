"""Large JPEGs decoded in two parts, on two threads, from a restart marker near the middle.

A JPEG whose scan has a restart interval starting an MCU row near its middle is decoded as two
parts at once; one without (most files) gets, after its first miss and on an idle thread, a
lossless copy with a restart marker after every MCU row, kept among its derived files. Neither
may change a pixel: the copy must decode (in Pillow's libjpeg) to the original's pixels, and
every derived file must be byte for byte what the same picture gives without restart markers.
The originals with markers of their own are made here by Pillow (`restart_marker_blocks`,
`restart_marker_rows`), from the same pixels and settings as one without: the same coefficients,
so the same decoded pixels, whatever the markers."""

import io
import random
import time

import pytest
from PIL import Image

pytestmark = pytest.mark.transforms

# Over a megapixel (the copy's threshold), and a 1/2 decode over 1 << 18 pixels (two parts).
W, H = 1400, 960
CHAINS = ["resize:600x.jpg", "resize:640x480,fill.webp", "flip:h.jpg", "rotate:90.png", "blur:1.5.jpg",
          "grayscale/resize:500x.jpg", "crop:20,500,1300,400/resize:650x.jpg", "sharpen:5.jpg"]


def picture(seed: int) -> Image.Image:
    rnd = random.Random(seed)
    im = Image.new("RGB", (W, H))
    im.putdata([((x // 3 + rnd.randrange(50)) % 256, (y // 2 + rnd.randrange(30)) % 256, ((x + y) // 5 + rnd.randrange(70)) % 256)
                for y in range(H) for x in range(W)])
    return im


def jpeg(im: Image.Image, **markers) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, subsampling="4:2:0", **markers)
    return out.getvalue()


def copy_path(stack, image_id: str):
    return stack.cache_dir / image_id[0:2] / image_id[2:4] / image_id / "restart-marked-original"


def get_bytes(stack, tools, image_id: str, chain: str) -> bytes:
    r = stack.get(f"/images/{image_id}/{chain}")
    assert r.status_code == 200, tools.describe(r)
    assert r.headers.get("X-Cache") == "MISS"
    return r.content


def wait_for(path, seconds: float = 20.0) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_bytes()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not made within {seconds} s")


def markers(data: bytes) -> dict:
    """The DRI interval (0 without) and how many RSTn markers the file has."""
    interval = 0
    at = data.find(b"\xff\xdd")
    if at >= 0:
        interval = int.from_bytes(data[at + 4:at + 6], "big")
    return {"interval": interval, "restarts": sum(data.count(bytes([0xFF, 0xD0 + n])) for n in range(8))}


@pytest.fixture(scope="module")
def pixels():
    return picture(11)


@pytest.fixture(scope="module")
def plain(stack, pixels):
    data = jpeg(pixels)
    assert markers(data)["interval"] == 0
    return stack.upload_ok(data, content_type="image/jpeg")


@pytest.fixture(scope="module")
def plain_outputs(stack, tools, plain):
    """Every chain of the plain original, made before its copy exists: the first miss (this
    one's) starts the copy, and each later chain is made with the copy removed first."""
    path = copy_path(stack, plain["id"])
    outputs = {}
    for chain in CHAINS:
        path.unlink(missing_ok=True)
        outputs[chain] = get_bytes(stack, tools, plain["id"], chain)
    return outputs


def test_the_copy_decodes_to_the_originals_pixels(stack, tools, plain, plain_outputs):
    copy = wait_for(copy_path(stack, plain["id"]))
    original = stack.get(f"/images/{plain['id']}.jpg").content
    found = markers(copy)
    assert found["interval"] > 0 and found["restarts"] >= H // 16 - 1, found
    assert tools.decode(copy).tobytes() == tools.decode(original).tobytes()
    # Derived files are nginx's to serve; this one is not: no URL reaches it.
    assert stack.get(f"/images/{plain['id']}/restart-marked-original").status_code in (400, 404)


def test_outputs_from_the_copy_are_the_originals(stack, tools, plain, plain_outputs):
    wait_for(copy_path(stack, plain["id"]))
    folder = copy_path(stack, plain["id"]).parent
    for chain in CHAINS:
        for made in folder.rglob("*"):
            if made.is_file() and made.name != "restart-marked-original":
                made.unlink()
        assert get_bytes(stack, tools, plain["id"], chain) == plain_outputs[chain], chain


@pytest.mark.parametrize("restart", [{"restart_marker_blocks": 7}, {"restart_marker_rows": 3},
                                     {"restart_marker_rows": 1}, {"restart_marker_blocks": 1}])
def test_an_originals_own_restart_markers_split_it(stack, tools, pixels, plain_outputs, restart):
    data = jpeg(pixels, **restart)
    assert markers(data)["interval"] > 0
    obj = stack.upload_ok(data, content_type="image/jpeg")
    # The two-part paths (rows into libgd, the streamed thumbnail, a filter after the
    # decode, a crop's region) and one chain each way around them.
    for chain in CHAINS[:4] + CHAINS[5:7]:
        assert get_bytes(stack, tools, obj["id"], chain) == plain_outputs[chain], (restart, chain)
    # Usable as it is: no copy is made.
    time.sleep(0.5)
    assert not copy_path(stack, obj["id"]).exists()


def test_a_delete_removes_the_copy(stack, tools):
    obj = stack.upload_ok(jpeg(picture(12)), content_type="image/jpeg")
    get_bytes(stack, tools, obj["id"], "resize:300x.jpg")
    path = copy_path(stack, obj["id"])
    wait_for(path)
    assert stack.delete(f"/images/{obj['id']}").status_code == 204
    assert not path.exists() and not path.parent.exists()


def test_no_copy_takes_more_than_a_hundredth_of_a_small_cache_budget(stack_factory, tools):
    """Each copy is about its original's size: under a small budget it would evict the
    derived files it exists to speed up."""
    data = jpeg(picture(13))
    small = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": str(len(data) * 100 - 1)})
    obj = small.upload_ok(data, content_type="image/jpeg")
    for chain in ("resize:300x.jpg", "flip:h.jpg"):
        get_bytes(small, tools, obj["id"], chain)
    time.sleep(1.0)
    assert not copy_path(small, obj["id"]).exists()
    roomy = stack_factory({"PROGIMAGE_CACHE_MAX_BYTES": str(len(data) * 100)})
    obj = roomy.upload_ok(data, content_type="image/jpeg")
    get_bytes(roomy, tools, obj["id"], "resize:300x.jpg")
    wait_for(copy_path(roomy, obj["id"]))


def test_an_original_no_copy_can_be_made_of_is_tried_once(stack, tools, pixels):
    """A CMYK JPEG is not re-encoded: an empty file in the copy's place says so, and the
    misses that follow decode the original without trying again."""
    out = io.BytesIO()
    pixels.convert("CMYK").save(out, "JPEG", quality=90)
    obj = stack.upload_ok(out.getvalue(), content_type="image/jpeg")
    first = get_bytes(stack, tools, obj["id"], "resize:300x.jpg")
    path = copy_path(stack, obj["id"])
    assert wait_for(path) == b""
    stamp = path.stat().st_mtime_ns
    assert tools.decode(get_bytes(stack, tools, obj["id"], "flip:h.jpg")).size == (W, H)
    time.sleep(0.5)
    assert path.stat().st_mtime_ns == stamp and path.read_bytes() == b""
    assert tools.decode(first).size == (300, round(300 * H / W))


def test_a_copy_that_fails_to_decode_gives_way_to_the_original(stack, tools, plain, plain_outputs):
    """Whatever happened to a copy on disk, the original answers, and the copy is remade."""
    path = copy_path(stack, plain["id"])
    copy = wait_for(path)
    path.write_bytes(copy[: len(copy) // 2])
    folder = path.parent
    chain = CHAINS[0]
    for made in folder.rglob("*"):
        if made.is_file() and made.name != "restart-marked-original":
            made.unlink()
    assert get_bytes(stack, tools, plain["id"], chain) == plain_outputs[chain]
    # Removed, then made again by the miss after.
    get_bytes(stack, tools, plain["id"], CHAINS[1])
    assert tools.decode(wait_for(path)).tobytes() == tools.decode(copy).tobytes()
