"""Animation (API.md, "Animation"): an animated GIF or WebP keeps its animation in gif and webp
outputs, every operation applied to every frame, delays and loop count kept; every other output
is the first frame; `PROGIMAGE_MAX_FRAMES` and the frames × pixels budget.

Frames are checked against references nobody here made: ImageMagick's coalesced frames of
peterdn/gif-test-suite (fixtures/gif-test-suite-frames), and Pillow's reading of animations
Pillow wrote. Our outputs are read back by Pillow."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps, ImageSequence, ImageStat

from conftest import REPO_ROOT, Tools

SLOW = 300
SUITE = REPO_ROOT / "tests" / "corpus" / "gif" / "gif-test-suite"
FRAMES = Path(__file__).parent / "fixtures" / "gif-test-suite-frames"
SUITE_FILES = sorted(p.stem for p in SUITE.glob("animated_*.gif") if p.stem != "animated_transparent_loop_frames_out_of_bounds")


def frames_of(body: bytes) -> tuple[list[Image.Image], list[int], int | None, str]:
    """Every frame as RGBA, each frame's duration (ms), the loop count (None: no loop
    extension), the format."""
    im = Image.open(io.BytesIO(body))
    frames, durations = [], []
    for frame in ImageSequence.Iterator(im):
        frames.append(frame.convert("RGBA").copy())
        durations.append(frame.info.get("duration", 0))
    return frames, durations, im.info.get("loop"), im.format


def reference_frames(name: str) -> list[Image.Image]:
    return [Image.open(FRAMES / f"{name}-{i}.png").convert("RGBA") for i in range(4)]


def differences(a: Image.Image, b: Image.Image) -> tuple[int, int]:
    """Largest alpha difference, and largest colour difference where both are opaque."""
    assert a.size == b.size, (a.size, b.size)
    alpha = ImageChops.difference(a.getchannel("A"), b.getchannel("A")).getextrema()[1]
    both = ImageChops.multiply(a.getchannel("A").point(lambda v: 255 if v > 127 else 0),
                               b.getchannel("A").point(lambda v: 255 if v > 127 else 0))
    colour = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    masked = Image.composite(colour, Image.new("RGB", colour.size), both)
    return alpha, max(high for _, high in masked.getextrema())


def psnr_on_white(a: Image.Image, b: Image.Image) -> float:
    white = Image.new("RGBA", a.size, (255, 255, 255, 255))
    x = Image.alpha_composite(white, a).convert("RGB")
    y = Image.alpha_composite(white, b).convert("RGB")
    mse = sum(v * v for v in ImageStat.Stat(ImageChops.difference(x, y)).rms) / 3
    return 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)


def get(stack, path: str) -> bytes:
    r = stack.get(path, timeout=SLOW)
    assert r.status_code == 200, Tools.describe(r)
    return r.content


def animation(frames: list[Image.Image], fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **params)
    return buf.getvalue()


@pytest.fixture(scope="module")
def suite(stack):
    """Each gif-test-suite animation, uploaded once: name -> (id, source durations, source loop)."""
    uploaded = {}
    for name in SUITE_FILES:
        data = (SUITE / f"{name}.gif").read_bytes()
        obj = stack.upload_ok(data, f"{name}.gif", "image/gif")
        assert obj["frames"] == 4, obj
        _frames, durations, loop, _ = frames_of(data)
        uploaded[name] = (obj["id"], durations, loop)
    return uploaded


@pytest.mark.parametrize("name", SUITE_FILES)
def test_gif_to_gif_plays_the_frames_browsers_show(stack, suite, name):
    image_id, durations, loop = suite[name]
    frames, out_durations, out_loop, fmt = frames_of(get(stack, f"/images/{image_id}/flip:h/flip:h.gif"))
    assert fmt == "GIF"
    assert (out_durations, out_loop) == (durations, loop)
    for i, (ours, reference) in enumerate(zip(frames, reference_frames(name), strict=True)):
        # The test GIFs have a few colours each: re-encoding them is exact.
        assert differences(ours, reference) == (0, 0), f"frame {i}"


@pytest.mark.parametrize("name", ["animated_transparent_frame_restoreprev_loop", "animated_loop_variable_delay"])
def test_gif_to_webp_keeps_frames_delays_and_loop(stack, suite, name):
    image_id, durations, loop = suite[name]
    frames, out_durations, out_loop, fmt = frames_of(get(stack, f"/images/{image_id}.webp"))
    assert fmt == "WEBP"
    assert out_durations == durations
    assert out_loop == loop
    for i, (ours, reference) in enumerate(zip(frames, reference_frames(name), strict=True)):
        alpha, _ = differences(ours, reference)
        assert alpha == 0, f"frame {i}: alpha moved by {alpha}"
        assert psnr_on_white(ours, reference) > 30, f"frame {i}"


@pytest.mark.parametrize("chain,expected", [
    ("flip:h", ImageOps.mirror),
    ("flip:v", ImageOps.flip),
    ("rotate:90", lambda im: im.transpose(Image.Transpose.ROTATE_270)),
    ("crop:10,20,60,50", lambda im: im.crop((10, 20, 70, 70))),
    ("pad:5,0,5,0,ff0000", lambda im: ImageOps.expand(im, (0, 5, 0, 5), fill=(255, 0, 0, 255))),
])
def test_every_operation_applies_to_every_frame(stack, suite, chain, expected):
    name = "animated_transparent_frame_norestore_loop"
    image_id, durations, loop = suite[name]
    frames, out_durations, out_loop, _ = frames_of(get(stack, f"/images/{image_id}/{chain}.gif"))
    assert (out_durations, out_loop) == (durations, loop)
    for i, (ours, reference) in enumerate(zip(frames, reference_frames(name), strict=True)):
        assert differences(ours, expected(reference)) == (0, 0), f"{chain}: frame {i}"


@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_resampling_operations_apply_to_every_frame(stack, suite, ext):
    name = "animated_loop"
    image_id, durations, _ = suite[name]
    frames, out_durations, _, _ = frames_of(get(stack, f"/images/{image_id}/resize:50x50/blur:1.{ext}"))
    assert out_durations == durations
    for i, (ours, reference) in enumerate(zip(frames, reference_frames(name), strict=True)):
        assert ours.size == (50, 50)
        from PIL import ImageFilter
        expected = reference.resize((50, 50), Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(1))
        assert psnr_on_white(ours, expected) > 27, f"frame {i}"


def test_other_outputs_are_the_first_frame(stack, suite):
    name = "animated_transparent_restoreprev_loop"
    image_id, _, _ = suite[name]
    png = Image.open(io.BytesIO(get(stack, f"/images/{image_id}.png")))
    assert Tools.frame_count(png) == 1
    assert differences(png.convert("RGBA"), reference_frames(name)[0]) == (0, 0)
    jpg = Image.open(io.BytesIO(get(stack, f"/images/{image_id}/resize:40x.jpg")))
    assert jpg.format == "JPEG" and jpg.size == (40, 40)


def test_animated_webp_keeps_its_animation(stack):
    frames = [Tools.gradient(64, 48, seed=s).convert("RGBA") for s in range(3)]
    frames[1].putalpha(Image.linear_gradient("L").resize((64, 48)))
    data = animation(frames, "WEBP", duration=[80, 160, 240], loop=5, lossless=True)
    obj = stack.upload_ok(data, "a.webp", "image/webp")
    assert obj["frames"] == 3
    source, _, _, _ = frames_of(data)
    for ext in ("webp", "gif"):
        out, durations, loop, _ = frames_of(get(stack, f"/images/{obj['id']}/rotate:180.{ext}"))
        assert durations == [80, 160, 240], ext
        assert loop == 5, ext
        for i, (ours, reference) in enumerate(zip(out, source, strict=True)):
            reference = reference.rotate(180)
            if ext == "webp":
                assert psnr_on_white(ours, reference) > 30, f"{ext} frame {i}"
                assert ImageChops.difference(ours.getchannel("A"), reference.getchannel("A")).getextrema()[1] <= 2
            else:
                # GIF: 256 colours, one transparent index for pixels more than half transparent.
                threshold = reference.getchannel("A").point(lambda v: 255 if v >= 128 else 0)
                assert ImageChops.difference(ours.getchannel("A"), threshold).getbbox() is None, f"gif frame {i}"


@pytest.mark.parametrize("chain", ["resize:256x8,force", "blur:0.3/resize:256x8,force", "flip:h/flip:h/resize:256x8,force"])
def test_an_animated_webp_with_alpha_keeps_every_alpha_level(stack, chain):
    """An animated WebP with alpha to WebP: its frames stay 8-bit straight rows, as a still
    image's do. Each frame a 256-level alpha ramp, halved: level x at column x, all 256
    levels, in every frame; through libgd's frames, 128 levels."""
    frames = []
    for i in range(3):
        frame = Image.new("RGBA", (512, 8))
        frame.putdata([(200, 40 + 60 * i, 20, x // 2) for _ in range(8) for x in range(512)])
        frames.append(frame)
    obj = stack.upload_ok(animation(frames, "WEBP", duration=100, loop=0, lossless=True), "ramp.webp", "image/webp")
    out, durations, _, _ = frames_of(get(stack, f"/images/{obj['id']}/{chain}.webp"))
    assert len(out) == 3 and durations == [100, 100, 100]
    for i, frame in enumerate(out):
        alphas = [frame.getpixel((x, 4))[3] for x in range(256)]
        off = [(x, a) for x, a in enumerate(alphas) if 1 <= x <= 254 and abs(a - x) > (1 if "blur" in chain else 0)]
        assert not off, (i, off[:8])
        assert len(set(alphas)) >= 250, i


def test_a_smart_crop_of_an_animated_webp_with_alpha_keeps_one_window(stack):
    """The frames of an animation with alpha (8-bit rows) share the first frame's smart
    window too."""
    base = Image.new("RGBA", (120, 60), (200, 200, 200, 180))
    base.paste(Tools.noise(50, 60, "RGB", seed=9).convert("RGBA"), (0, 0))
    frames = []
    for i in range(4):
        frame = base.copy()
        frame.paste((0, 0, 0, 255), (60 + i * 14, 25, 70 + i * 14, 35))
        frames.append(frame)
    obj = stack.upload_ok(animation(frames, "WEBP", duration=100, loop=0, lossless=True), "m.webp", "image/webp")
    out, _, _, _ = frames_of(get(stack, f"/images/{obj['id']}/resize:60x60,fill,smart.webp"))

    def window(ours, source):
        def cost(x):
            return sum(ImageStat.Stat(ImageChops.difference(ours, source.crop((x, 0, x + 60, 60)))).mean)
        return min(range(61), key=cost)
    windows = [window(ours, source) for ours, source in zip(out, frames, strict=True)]
    assert len(set(windows)) == 1, windows


def gif_by_hand(colours: list[tuple[int, int, int]], delays_cs: list[int], size=(32, 24)) -> bytes:
    """An animated GIF of flat frames, one image block per entry, written out here because
    Pillow's writer merges identical consecutive frames. Each frame is Pillow's own still GIF
    of that colour with a shared palette: only the block framing is ours."""
    palette = [c for colour in colours for c in colour] + [0] * (768 - 3 * len(colours))
    stills = []
    for index in range(len(colours)):
        frame = Image.new("P", size, index)
        frame.putpalette(palette)
        buf = io.BytesIO()
        frame.save(buf, "GIF", optimize=False)
        stills.append(buf.getvalue())
    first = stills[0]
    table = 3 << ((first[10] & 7) + 1)
    head = first[:13 + table]
    out = bytearray(head)
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for still, delay in zip(stills, delays_cs):
        block = still[13 + (3 << ((still[10] & 7) + 1)):]
        block = block[block.index(b"\x2c"):].rstrip(b"\x3b")
        out += b"\x21\xf9\x04\x00" + delay.to_bytes(2, "little") + b"\x00\x00" + block
    return bytes(out + b"\x3b")


def test_identical_frames_and_zero_delays_are_kept(stack):
    data = gif_by_hand([(255, 0, 0), (255, 0, 0), (0, 0, 255)], [10, 0, 30])
    source, durations, loop, _ = frames_of(data)
    assert len(source) == 3 and durations == [100, 0, 300] and loop == 0  # Pillow reads what we wrote
    obj = stack.upload_ok(data, "r.gif", "image/gif")
    assert obj["frames"] == 3, obj
    for path in (f"/images/{obj['id']}.webp", f"/images/{obj['id']}/flip:h.gif"):
        frames, durations, loop, _ = frames_of(get(stack, path))
        assert (len(frames), durations, loop) == (3, [100, 0, 300], 0), path
        red, _, blue = (f.getpixel((5, 5)) for f in frames)
        assert red[0] > 240 > max(red[1:3]) and blue[2] > 240 > max(blue[:2]), (path, red, blue)


def test_loop_counts_cross_between_gif_and_webp(stack):
    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    once = stack.upload_ok(animation(frames, "GIF", duration=50), "once.gif", "image/gif")
    _, _, loop, _ = frames_of(get(stack, f"/images/{once['id']}.webp"))
    assert loop == 1  # a GIF without a loop extension plays once; WebP says so with 1
    _, _, loop, _ = frames_of(get(stack, f"/images/{once['id']}/flip:h.gif"))
    assert loop is None
    forever = stack.upload_ok(animation(frames, "WEBP", duration=50, loop=0, lossless=True), "f.webp", "image/webp")
    _, _, loop, _ = frames_of(get(stack, f"/images/{forever['id']}.gif"))
    assert loop == 0


def test_a_gif_loop_count_of_one_is_kept(stack):
    # NETSCAPE 1 is not "no extension" (browsers play it twice): GIF to GIF keeps it.
    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    twice = stack.upload_ok(animation(frames, "GIF", duration=50, loop=1), "twice.gif", "image/gif")
    _, _, loop, _ = frames_of(get(stack, f"/images/{twice['id']}/flip:h.gif"))
    assert loop == 1


def test_smart_crop_keeps_one_window_for_every_frame(stack):
    # A busy left half and a flat right half; a small square moves across the flat half.
    base = Image.new("RGB", (120, 60), (200, 200, 200))
    base.paste(Tools.noise(50, 60, "RGB", seed=9).quantize(64).convert("RGB"), (0, 0))
    frames = []
    for i in range(4):
        frame = base.copy()
        frame.paste((0, 0, 0), (60 + i * 14, 25, 70 + i * 14, 35))
        frames.append(frame)
    data = animation(frames, "GIF", duration=100, loop=0, optimize=False)
    obj = stack.upload_ok(data, "m.gif", "image/gif")
    out, _, _, _ = frames_of(get(stack, f"/images/{obj['id']}/resize:60x60,fill,smart.gif"))
    source, _, _, _ = frames_of(data)
    # The window of the first frame, found by search, must be the window of every frame.
    windows = [x for x in range(61) if differences(out[0], source[0].crop((x, 0, x + 60, 60))) == (0, 0)]
    assert windows, "the first frame is no 60×60 window of the source"
    for i in range(1, 4):
        assert differences(out[i], source[i].crop((windows[0], 0, windows[0] + 60, 60))) == (0, 0), f"frame {i}"


def test_an_overlay_is_composited_on_every_frame(stack, suite):
    image_id, _, _ = suite["animated_loop"]
    logo = stack.upload_ok(Tools.png(Image.new("RGB", (10, 10), (255, 0, 255))))
    frames, _, _, _ = frames_of(get(stack, f"/images/{image_id}/overlay:{logo['id']}.gif"))
    assert len(frames) == 4
    for i, frame in enumerate(frames):
        assert frame.getpixel((95, 95)) == (255, 0, 255, 255), f"frame {i}"
        assert frame.getpixel((85, 85)) != (255, 0, 255, 255), f"frame {i}"


@pytest.fixture(scope="module")
def budget_stack(stack_factory):
    return stack_factory({"PROGIMAGE_MAX_FRAMES": "12", "PROGIMAGE_MAX_PIXELS": "10000"})


def test_frame_and_pixel_budgets(budget_stack):
    stack = budget_stack

    def gif(count, size):
        return animation([Image.new("RGB", size, (i * 20, 0, 0)) for i in range(count)], "GIF", duration=40,
                         optimize=False)

    Tools.json_error(stack.upload(gif(13, (10, 10)), "a.gif", "image/gif"), 422, "image_too_large")
    # 11 frames × 100 × 100 = 110 000 pixels, over 10 × 10 000.
    Tools.json_error(stack.upload(gif(11, (100, 100)), "b.gif", "image/gif"), 422, "image_too_large")
    ok = stack.upload_ok(gif(10, (100, 100)), "c.gif", "image/gif")
    assert ok["frames"] == 10
    assert len(frames_of(get(stack, f"/images/{ok['id']}/resize:50x50.gif"))[0]) == 10
    # Enlarging would make 10 × 200 × 200 output pixels: refused before any work.
    Tools.json_error(stack.get(f"/images/{ok['id']}/resize:200x200.gif"), 422, "image_too_large")
    # So would a step on the way to a small output: every step is held to the budget (a
    # black-box tester's 400-frame GIF through resize:1600x1600/resize:84x84 took 22 s).
    Tools.json_error(stack.get(f"/images/{ok['id']}/resize:200x200/resize:50x50.gif"), 422, "image_too_large")
    Tools.json_error(stack.get(f"/images/{ok['id']}/pad:50,50,50,50/crop:0,0,100,100.webp"), 422, "image_too_large")
    # A still output of the same chain is one frame, within the limits.
    assert stack.get(f"/images/{ok['id']}/resize:90x90.png").status_code == 200


def test_a_first_frame_past_the_screen_enlarges_the_canvas(stack):
    # API.md, "Canvas of a GIF or WebP": its first frame is drawn at +200+0 on a 100×100 screen.
    data = (SUITE / "animated_transparent_loop_frames_out_of_bounds.gif").read_bytes()
    obj = stack.upload_ok(data, "oob.gif", "image/gif")
    assert (obj["width"], obj["height"], obj["frames"]) == (300, 100, 4), obj
    reference = Image.open(io.BytesIO(data))
    reference.seek(0)
    reference = reference.convert("RGBA")  # Pillow grows its canvas the same way
    assert reference.size == (300, 100)
    png = Image.open(io.BytesIO(get(stack, f"/images/{obj['id']}.png"))).convert("RGBA")
    assert differences(png, reference) == (0, 0)
    # (`.gif` is the original itself: a transform makes a new one.)
    frames, _, _, _ = frames_of(get(stack, f"/images/{obj['id']}/flip:h.gif"))
    assert len(frames) == 4 and all(f.size == (300, 100) for f in frames)
    assert differences(frames[0], ImageOps.mirror(reference)) == (0, 0)


def test_gif_output_writes_what_changed_not_every_frame_whole(stack):
    # A still, busy background with a small square moving over it: each frame differs from
    # the one before in a few hundred pixels.
    base = Tools.noise(200, 150, "RGB", seed=12).quantize(200).convert("RGB")
    frames = []
    for i in range(20):
        frame = base.copy()
        frame.paste((255, 0, 0), (i * 8, 60, i * 8 + 12, 72))
        frames.append(frame)
    data = animation(frames, "GIF", duration=50, loop=0)
    obj = stack.upload_ok(data, "moving.gif", "image/gif")
    body = get(stack, f"/images/{obj['id']}/flip:h/flip:h.gif")
    ours, durations, _, _ = frames_of(body)
    source, _, _, _ = frames_of(data)
    assert len(ours) == 20 and durations == [50] * 20
    for i, (a, b) in enumerate(zip(ours, source)):
        assert differences(a, b) == (0, 0), f"frame {i}"
    # Written whole, each frame would be ~30 KB of LZW noise: 20 of them ~600 KB.
    assert len(body) < 2 * len(data), (len(body), len(data))


def gif_with_frames(screen: tuple[int, int], rects: list[tuple[int, int, int, int]]) -> bytes:
    """A GIF written byte by byte, every pixel index 1. A frame of up to 4096 pixels gets
    all its LZW data (each pixel after a clear code, so codes stay 3 bits); a larger one
    a single pixel of it, however large its rectangle claims to be: what a hostile upload
    looks like."""
    import struct
    out = bytearray(b"GIF89a" + struct.pack("<HH", *screen) + bytes([0xF1, 0, 0]))
    out += bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for left, top, width, height in rects:
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"
        out += b"\x2c" + struct.pack("<HHHH", left, top, width, height) + b"\x00"
        pixels = width * height if width * height <= 4096 else 1
        codes = [4, 1] * pixels + [5]
        packed = sum(code << (3 * i) for i, code in enumerate(codes)).to_bytes((3 * len(codes) + 7) // 8, "little")
        out += b"\x02"
        for at in range(0, len(packed), 255):
            out += bytes([len(packed[at:at + 255])]) + packed[at:at + 255]
        out += b"\x00"
    return bytes(out + b"\x3b")


def test_frame_rectangles_count_against_the_budget(stack):
    # A 16×16 canvas whose later frames claim 10000×10000 each: 11 KB of file, and 57 s of
    # decoding per derived file when only the canvas was counted.
    hostile = gif_with_frames((16, 16), [(0, 0, 16, 16)] + [(0, 0, 10000, 10000)] * 30)
    Tools.json_error(stack.upload(hostile, "big.gif", "image/gif"), 422, "image_too_large")
    # Frames outside the canvas but within the budget are accepted, and show nothing.
    outside = gif_with_frames((16, 16), [(0, 0, 16, 16), (40, 40, 8, 8), (0, 0, 4, 4)])
    obj = stack.upload_ok(outside, "outside.gif", "image/gif")
    frames, _, _, _ = frames_of(get(stack, f"/images/{obj['id']}/flip:h.gif"))
    assert len(frames) == 3 and all(f.size == (16, 16) for f in frames)
    assert differences(frames[1], frames[0]) == (0, 0)


# ---- an upload proves every frame ---------------------------------------------------------


def _image_descriptors(gif: bytes) -> list[int]:
    """Offsets of a GIF's image descriptors (0x2C), walking its blocks."""
    at = 13 + ((3 << ((gif[10] & 7) + 1)) if gif[10] & 0x80 else 0)
    found = []
    while gif[at] != 0x3B:
        if gif[at] == 0x21:
            at += 2
        else:
            found.append(at)
            flags = gif[at + 9]
            at += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0) + 1
        while gif[at]:
            at += gif[at] + 1
        at += 1
    return found


def _noise_frames(tools, count: int, size=(100, 100)) -> list[Image.Image]:
    return [tools.noise(*size, seed=40 + k).convert("P", palette=Image.Palette.ADAPTIVE) for k in range(count)]


def test_a_gif_whose_image_data_stops_early_is_refused(stack, tools):
    """The blocks are whole but the compressed pixels stop in the first sub-block: libgd
    paints the rest black without a word, so the upload itself counts the pixels."""
    buffer = io.BytesIO()
    _noise_frames(tools, 1)[0].save(buffer, "GIF")
    gif = buffer.getvalue()
    data = _image_descriptors(gif)[0] + 10 + 1  # no local table: the LZW code size, then blocks
    assert gif[data] == 255, "noise needs more than one sub-block"
    cut = gif[:data + 1 + 255] + b"\x00\x3b"
    tools.json_error(stack.post("/images", data=cut), 422, "corrupt_image")
    assert stack.post("/images", data=gif).status_code == 201


def test_a_gif_frame_over_the_pixel_limit_is_refused_at_upload(stack, tools):
    """A later frame's descriptor claiming 20000x20000 is over PROGIMAGE_MAX_PIXELS as a
    source would be: 422 at upload, not 201 and then 422 for some outputs."""
    buffer = io.BytesIO()
    frames = _noise_frames(tools, 2, (10, 10))
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gif = bytearray(buffer.getvalue())
    second = _image_descriptors(bytes(gif))[1]
    gif[second + 5:second + 9] = (20000).to_bytes(2, "little") * 2
    tools.json_error(stack.post("/images", data=bytes(gif)), 422, "image_too_large")


def test_an_animated_webp_with_a_damaged_later_frame_is_refused(stack, tools):
    """Every frame of an animated WebP is decoded at upload: one whose fourth frame does not
    decode was stored, and then every animated output of it was a 422."""
    buffer = io.BytesIO()
    frames = [tools.noise(60, 40, seed=50 + k) for k in range(5)]
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    webp = buffer.getvalue()
    fourth = [i for i in range(len(webp)) if webp[i:i + 4] == b"ANMF"][3]

    def decodes(data: bytes) -> bool:
        try:
            with Image.open(io.BytesIO(data)) as im:
                for frame in ImageSequence.Iterator(im):
                    frame.load()
            return True
        except Exception:  # noqa: BLE001 — any refusal of Pillow's
            return False

    damaged = next(bytes(webp[:at]) + bytes([webp[at] ^ 0x5A]) + webp[at + 1:]
                   for at in range(fourth + 40, fourth + 400)
                   if not decodes(bytes(webp[:at]) + bytes([webp[at] ^ 0x5A]) + webp[at + 1:]))
    tools.json_error(stack.post("/images", data=damaged), 422, "corrupt_image")
    assert stack.post("/images", data=webp).status_code == 201


ROW_COLOURS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
               (255, 255, 255)]


def _interlaced_frame_block(width: int, height: int, left: int = 0, top: int = 0) -> bytes:
    """An image descriptor marked interlaced whose row y is palette entry y % 8, its rows
    stored in GIF's four passes (every 8th from 0, every 8th from 4, every 4th from 2,
    every 2nd from 1), LZW written with a clear code before every pixel (codes stay 4 bits).
    Pillow's writer refuses to interlace anything under 16 rows, the frames that matter."""
    import struct
    stored = [y for start, step in [(0, 8), (4, 8), (2, 4), (1, 2)] for y in range(start, height, step)]
    codes = [c for y in stored for _ in range(width) for c in (8, y % 8)] + [9]
    packed = sum(code << (4 * i) for i, code in enumerate(codes)).to_bytes((4 * len(codes) + 7) // 8, "little")
    out = bytearray(b"\x2c" + struct.pack("<HHHH", left, top, width, height) + b"\x40\x03")
    for at in range(0, len(packed), 255):
        out += bytes([len(packed[at:at + 255])]) + packed[at:at + 255]
    return bytes(out + b"\x00")


def _gif_with_palette(screen: tuple[int, int], blocks: list[bytes], loop: bool) -> bytes:
    import struct
    out = bytearray(b"GIF89a" + struct.pack("<HH", *screen) + bytes([0xF2, 0, 0]))
    out += bytes(c for colour in ROW_COLOURS for c in colour)
    if loop:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for block in blocks:
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00" + block
    return bytes(out + b"\x3b")


@pytest.mark.parametrize("height", range(1, 10))
def test_an_interlaced_gif_of_any_height_keeps_every_row(stack, height):
    """libgd 2.3.3 reads interlaced rows without skipping a pass that is empty: a frame 2–4
    rows tall kept its first row and showed palette entry 0 in the others."""
    data = _gif_with_palette((7, height), [_interlaced_frame_block(7, height)], loop=False)
    reference = Image.open(io.BytesIO(data)).convert("RGB")
    assert [reference.getpixel((3, y)) for y in range(height)] == [ROW_COLOURS[y % 8] for y in range(height)]
    obj = stack.upload_ok(data, "interlaced.gif", "image/gif")
    served = Image.open(io.BytesIO(get(stack, f"/images/{obj['id']}.png"))).convert("RGB")
    assert [served.getpixel((3, y)) for y in range(height)] == [ROW_COLOURS[y % 8] for y in range(height)]


def test_an_interlaced_later_frame_keeps_every_row(stack):
    data = _gif_with_palette(
        (7, 8), [_interlaced_frame_block(7, 8), _interlaced_frame_block(5, 3, left=1, top=2)], loop=True)
    obj = stack.upload_ok(data, "interlaced-animation.gif", "image/gif")
    frames, _, _, _ = frames_of(get(stack, f"/images/{obj['id']}/flip:h/flip:h.gif"))
    assert len(frames) == 2
    second = frames[1].convert("RGB")
    assert [second.getpixel((3, y)) for y in range(2, 5)] == [ROW_COLOURS[y] for y in range(3)]
    assert [second.getpixel((0, y)) for y in range(8)] == [ROW_COLOURS[y] for y in range(8)]
