"""Delivery features (API.md, "Delivery features"): `.auto` and the BlurHash placeholder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import random
import subprocess
import time

import blurhash
import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import API_KEYS, SIGNING_KEY, Stack, Tools, assert_start_refused, corpus_bytes


# ---- BlurHash ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(640, 400), (90, 300), (5, 5)])
def test_blurhash_matches_the_reference_implementation(stack, size):
    photo = Image.radial_gradient("L").resize(size).convert("RGB")
    photo = Image.merge("RGB", (photo.getchannel(0), photo.getchannel(0).rotate(90), Tools.noise(*size, seed=4).getchannel(2)))
    image = stack.upload_ok(Tools.png(photo))
    ours = image["blurhash"]
    assert blurhash.is_valid_blurhash(ours), ours
    assert len(ours) == 28  # 4×3 components: 1 + 1 + 4 + 2 × 11
    reference = blurhash.encode(photo.copy(), 4, 3)  # Wolt's C implementation, full resolution
    assert ours == reference


@pytest.mark.parametrize("size", [(400, 300), (1201, 799)])
def test_blurhash_of_a_photo_is_the_reference_string(stack, size):
    """Every pixel counts, as in the reference: a 64 × 64 grid of cell means put a photo's
    mean colour a level off and an AC term a step off (a black-box tester's 400 × 300)."""
    photo = Image.open(io.BytesIO(corpus_bytes("jpeg/libjpeg-turbo/testorig.jpg"))).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    image = stack.upload_ok(Tools.png(photo))
    assert image["blurhash"] == blurhash.encode(photo.copy(), 4, 3)


@pytest.mark.parametrize("alpha", ["ramp", 101])
def test_blurhash_of_a_translucent_image_is_the_reference_string_of_it_on_white(stack, alpha):
    """Composited on white in 8 bits, as its `.jpg` is (c·α + 255·(255 − α), over 255,
    rounded): libgd's 7-bit alpha had put the hash of a translucent PNG a level off its own
    `.jpg` and a character off the reference's (a black-box tester's gradient-alpha photo)."""
    photo = Image.open(io.BytesIO(corpus_bytes("jpeg/libjpeg-turbo/testorig.jpg"))).convert("RGB").resize((400, 300))
    if alpha == "ramp":
        mask = Image.linear_gradient("L").resize((400, 300))
    else:
        mask = Image.new("L", (400, 300), alpha)
    rgba = photo.copy()
    rgba.putalpha(mask)
    image = stack.upload_ok(Tools.png(rgba))
    a = list(mask.getdata())
    shown = Image.new("RGB", photo.size)
    shown.putdata([
        tuple((c * k + 255 * (255 - k) + 127) // 255 for c in pixel) for pixel, k in zip(photo.getdata(), a)
    ])
    assert image["blurhash"] == blurhash.encode(shown.copy(), 4, 3)


def test_blurhash_is_of_the_upright_image(stack):
    # Left half red, right half blue, stored rotated by EXIF orientation 6 (90° clockwise):
    # upright, the top is red and the bottom blue.
    upright = Image.new("RGB", (120, 80), (220, 20, 20))
    upright.paste((20, 20, 220), (0, 40, 120, 80))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif, quality=95)
    image = stack.upload_ok(buf.getvalue(), content_type="image/jpeg")
    assert (image["width"], image["height"]) == (120, 80)
    placeholder = blurhash.decode(image["blurhash"], 12, 8).convert("RGB")
    top, bottom = placeholder.getpixel((6, 0)), placeholder.getpixel((6, 7))
    assert top[0] > top[2] and bottom[2] > bottom[0], (top, bottom)


def _placeholder_colour(image: dict) -> tuple[int, int, int]:
    """The mean colour a page shows for the image's BlurHash."""
    return tuple(round(v) for v in ImageStat.Stat(blurhash.decode(image["blurhash"], 16, 12).convert("RGB")).mean)


@pytest.mark.parametrize("kind", ["cmyk", "p3"])
def test_blurhash_is_of_the_colours_shown(stack, kind):
    """The upload decode had left the pixels as stored: a CMYK JPEG's red hashed blue, and a
    Display P3 photo's colours were taken for sRGB. The placeholder's colour now is what
    Pillow (+ LittleCMS for the profile) shows."""
    from PIL import ImageCms

    import iccprofile
    buf = io.BytesIO()
    if kind == "p3":
        # P3 (30, 200, 60) is sRGB (0, 204, 13): taken for sRGB numbers, 47 levels off in blue.
        Image.new("RGB", (48, 32), (30, 200, 60)).save(buf, "JPEG", quality=95, icc_profile=iccprofile.matrix_profile())
        shown = ImageCms.profileToProfile(
            Image.open(io.BytesIO(buf.getvalue())), ImageCms.ImageCmsProfile(io.BytesIO(iccprofile.matrix_profile())),
            ImageCms.createProfile("sRGB"), outputMode="RGB")
    else:
        # Red; Pillow writes CMYK JPEGs as Photoshop does (inverted, with an Adobe marker).
        Image.new("CMYK", (48, 32), (0, 255, 255, 0)).save(buf, "JPEG", quality=95)
        shown = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    image = stack.upload_ok(buf.getvalue(), content_type="image/jpeg")
    expected = tuple(round(v) for v in ImageStat.Stat(shown).mean)
    got = _placeholder_colour(image)
    assert all(abs(g - e) <= 6 for g, e in zip(got, expected)), (kind, got, expected, image["blurhash"])


# ---- .auto ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opaque(stack):
    return stack.upload_ok(Tools.png(Tools.noise(120, 80, seed=31)))


@pytest.fixture(scope="module")
def translucent(stack):
    return stack.upload_ok(Tools.png(Tools.noise(120, 80, mode="RGBA", seed=32)))


@pytest.mark.parametrize("accept,ext", [
    ("image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif"),   # Chrome
    ("image/webp,*/*", "webp"),                                     # older Firefox
    ("image/avif;q=0,image/webp;q=0.5", "webp"),
    ("image/*,*/*;q=0.8", "jpg"),                                   # wildcards name no format
    ("", "jpg"),
    ("image/AVIF", "avif"),
    ("image/avif;Q=0.001,image/webp", "avif"),
    # A weight RFC 9110 does not allow names nothing, whichever way it leans (a black-box
    # tester: q=1.5 and q=.5 had counted, q=abc had not).
    ("image/avif;q=1.5,image/webp", "webp"), ("image/avif;q=.5,image/webp", "webp"),
    ("image/avif;q=abc,image/webp", "webp"), ("image/avif;q=0;q=1,image/webp", "webp"),
    ("image/avif;q=0.5000,image/webp", "webp"), ("image/avif;q=1.000,image/webp;q=0", "avif"),
])
def test_auto_redirects_to_what_accept_asks_for(stack, opaque, accept, ext):
    r = stack.get(f"/images/{opaque['id']}/resize:60x.auto?x=1", headers={"Accept": accept})
    assert r.status_code == 302, Tools.describe(r)
    assert r.headers["Location"] == f"/images/{opaque['id']}/resize:60x.{ext}?x=1"
    assert r.headers["Vary"] == "Accept" and r.headers["Cache-Control"] == "public, max-age=86400"
    target = stack.get(r.headers["Location"])
    assert target.status_code == 200 and "Vary" not in target.headers  # image bytes never vary
    assert Image.open(io.BytesIO(target.content)).size[0] == 60


def test_auto_prefers_png_for_images_with_alpha(stack, opaque, translucent):
    r = stack.get(f"/images/{translucent['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{translucent['id']}.png"
    r = stack.get(f"/images/{translucent['id']}.auto", headers={"Accept": "image/webp"})
    assert r.headers["Location"] == f"/images/{translucent['id']}.webp"
    r = stack.get(f"/images/{opaque['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{opaque['id']}.jpg"


def test_auto_keeps_alpha_when_the_url_names_a_quality(stack, opaque, translucent):
    """`quality` is a lossy encoder's option (a png URL refuses it): an image with alpha
    still goes to png, without it, rather than being flattened into a jpg."""
    r = stack.get(f"/images/{translucent['id']}/resize:60x/quality:70.auto?x=1", headers={"Accept": "image/*"})
    assert r.status_code == 302 and r.headers["Location"] == f"/images/{translucent['id']}/resize:60x.png?x=1", Tools.describe(r)
    target = stack.get(r.headers["Location"])
    assert target.status_code == 200 and Image.open(io.BytesIO(target.content)).mode == "RGBA"
    r = stack.get(f"/images/{translucent['id']}/quality:70.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{translucent['id']}.png", Tools.describe(r)
    # The lossy formats keep it, and an opaque image goes to jpg with it.
    r = stack.get(f"/images/{translucent['id']}/resize:60x/quality:70.auto", headers={"Accept": "image/webp"})
    assert r.headers["Location"] == f"/images/{translucent['id']}/resize:60x/quality:70.webp", Tools.describe(r)
    r = stack.get(f"/images/{opaque['id']}/resize:60x/quality:70.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{opaque['id']}/resize:60x/quality:70.jpg", Tools.describe(r)


@pytest.mark.parametrize("fmt,mode,params", [("PNG", "RGBA", {}), ("PNG", "LA", {}), ("TIFF", "RGBA", {}),
                                             ("TIFF", "RGBA", {"compression": "tiff_lzw"})])
def test_auto_goes_by_the_alpha_channel_not_by_its_pixels(stack, fmt, mode, params):
    """"png when the original has an alpha channel": an RGBA file whose every pixel is
    opaque still has one (its pixels decide only for formats whose header does not say;
    libwebp drops an opaque alpha channel from the file itself)."""
    im = Tools.noise(40, 30, seed=33).convert(mode)
    assert im.getextrema()[-1] == (255, 255)
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    obj = stack.upload_ok(buffer.getvalue())
    r = stack.get(f"/images/{obj['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{obj['id']}.png", Tools.describe(r)


@pytest.mark.parametrize("fmt", ["heic", "jxl"])
def test_auto_reads_the_alpha_channel_of_heic_and_jpeg_xl(stack, tmp_path, fmt):
    """A HEIC's auxiliary alpha image and a JPEG XL's alpha bits are declared channels too:
    opaque everywhere, such a file still goes to png (its pixels used to decide)."""
    im = Image.new("RGBA", (40, 30), (10, 200, 30, 255))
    if fmt == "heic":
        buffer = io.BytesIO()
        im.save(buffer, "HEIF", quality=90)
        data = buffer.getvalue()
        assert b"auxC" in data
    else:
        im.save(tmp_path / "opaque.png")
        subprocess.run(["cjxl", str(tmp_path / "opaque.png"), str(tmp_path / "opaque.jxl"), "-q", "90"],
                       check=True, capture_output=True)
        data = (tmp_path / "opaque.jxl").read_bytes()
    obj = stack.upload_ok(data)
    r = stack.get(f"/images/{obj['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{obj['id']}.png", Tools.describe(r)
    no_alpha = Image.new("RGB", (40, 30), (10, 200, 30))
    buffer = io.BytesIO()
    no_alpha.save(buffer, "HEIF", quality=90)
    obj = stack.upload_ok(buffer.getvalue())
    r = stack.get(f"/images/{obj['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{obj['id']}.jpg", Tools.describe(r)


def test_auto_canonicalises_and_refuses_like_other_urls(stack, opaque):
    # A non-canonical spelling is a 301 to the canonical .auto URL first, query kept, as
    # every other URL's is; then the 302.
    r = stack.get(f"/images/{opaque['id']}/rotate:-90/resize:040x.auto?x=1", headers={"Accept": "image/webp"})
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{opaque['id']}/rotate:270/resize:40x.auto?x=1"
    r = stack.get(r.headers["Location"], headers={"Accept": "image/webp"})
    assert r.status_code == 302 and r.headers["Location"] == f"/images/{opaque['id']}/rotate:270/resize:40x.webp?x=1"
    Tools.json_error(stack.get(f"/images/{opaque['id']}/resize:0x0.auto"), 400, "bad_operation")
    Tools.json_error(stack.get("/images/AAAAAAAAAAAAAAAAAAAA.auto"), 404, "not_found")
    # A method a .auto URL does not take is a 405 first, whatever its operations.
    for method in ("QUERY", "PATCH", "POST"):
        r = stack.request(method, f"/images/{opaque['id']}/resize:0x0.auto")
        Tools.json_error(r, 405, "method_not_allowed")
        assert "GET" in r.headers["Allow"]


def sign(path: str) -> str:
    mac = hmac.new(SIGNING_KEY.encode(), path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_signed_auto_needs_its_own_signature_and_signs_its_target(secure_stack):
    image = secure_stack.upload_ok(Tools.png(Tools.noise(50, 50, seed=33)),
                                   headers={"Authorization": f"Bearer {API_KEYS[0]}"})
    auto = f"/images/{image['id']}/resize:20x.auto"
    Tools.json_error(secure_stack.get(auto, headers={"Accept": "image/webp"}), 403, "bad_signature")
    r = secure_stack.get(f"{auto}?sig={sign(auto)}", headers={"Accept": "image/webp"})
    target = f"/images/{image['id']}/resize:20x.webp"
    assert r.status_code == 302 and r.headers["Location"] == f"{target}?sig={sign(target)}"
    assert secure_stack.get(r.headers["Location"]).status_code == 200
    # A non-canonical .auto URL is redirected first, unsigned, keeping its query; the
    # signature is then over the canonical path, as for every other URL.
    misspelt = f"/images/{image['id']}/resize:020x.auto"
    r = secure_stack.get(f"{misspelt}?sig={sign(auto)}", headers={"Accept": "image/webp"})
    assert r.status_code == 301 and r.headers["Location"] == f"{auto}?sig={sign(auto)}", Tools.describe(r)


# ---- gravity, smart crop, padding --------------------------------------------------------------


def get_image(stack, path: str) -> Image.Image:
    r = stack.get(path)
    assert r.status_code == 200, Tools.describe(r)
    im = Image.open(io.BytesIO(r.content))
    im.load()
    return im, r


@pytest.fixture(scope="module")
def halves(stack):
    """200×100: left half black, right half white."""
    im = Image.new("RGB", (200, 100), (0, 0, 0))
    im.paste((255, 255, 255), (100, 0, 200, 100))
    return stack.upload_ok(Tools.png(im))


@pytest.mark.parametrize("gravity,expected", [("w", 0), ("e", 255), ("nw", 0), ("se", 255), ("n", None), ("", None)])
def test_fill_keeps_the_window_its_gravity_names(stack, halves, gravity, expected):
    im, r = get_image(stack, f"/images/{halves['id']}/resize:100x100,fill{',' + gravity if gravity else ''}.png")
    assert im.size == (100, 100) and r.headers["X-Progimage-Instance"] == "resize"
    grey = im.convert("L")
    if expected is None:  # centred horizontally: half black, half white
        assert grey.getpixel((10, 50)) < 30 and grey.getpixel((90, 50)) > 225
    else:
        assert all(abs(grey.getpixel((x, 50)) - expected) < 30 for x in (2, 50, 97))


def test_smart_crop_finds_the_interesting_part(stack):
    scene = Image.new("RGB", (600, 200), (128, 128, 128))
    detail = Tools.noise(120, 120, seed=5)
    scene.paste(detail, (450, 40))
    image = stack.upload_ok(Tools.png(scene))
    smart, _ = get_image(stack, f"/images/{image['id']}/resize:200x200,fill,smart.png")
    centre, _ = get_image(stack, f"/images/{image['id']}/resize:200x200,fill.png")
    assert smart.size == (200, 200)
    spread = lambda im: ImageStat.Stat(im.convert("L")).stddev[0]  # noqa: E731
    assert spread(smart) > 3 * spread(centre) + 10, (spread(smart), spread(centre))


def _assert_smart_window_is_libvips_s(stack, data: bytes, sizes):
    """Each `resize:WxH,fill,smart` of `data` is libvips's `attention` window of the same
    cover, within one point of the 32-point grid libvips places the crop on."""
    import pyvips
    image = stack.upload_ok(data)
    source_width, source_height = image["width"], image["height"]
    for w, h in sizes:
        scale = max(w / source_width, h / source_height)
        cover_width = max(w, int(source_width * scale + 0.5))
        cover_height = max(h, int(source_height * scale + 0.5))
        reference = pyvips.Image.thumbnail_buffer(data, cover_width, height=cover_height, size="force")
        _, found = reference.smartcrop(w, h, interesting="attention", attention_x=True, attention_y=True)
        left = min(max(0, found["attention_x"] - w // 2), cover_width - w)
        top = min(max(0, found["attention_y"] - h // 2), cover_height - h)

        smart, _ = get_image(stack, f"/images/{image['id']}/resize:{w}x{h},fill,smart.png")
        cover, _ = get_image(stack, f"/images/{image['id']}/resize:{cover_width}x{cover_height},force.png")
        smart, cover = smart.convert("RGBA"), cover.convert("RGBA")
        cell_x, cell_y = -(-cover_width // 32), -(-cover_height // 32)
        nearest = min(
            (max(ImageStat.Stat(ImageChops.difference(smart, cover.crop((x, y, x + w, y + h)))).mean), x, y)
            for x in range(max(0, left - cell_x), min(cover_width - w, left + cell_x) + 1)
            for y in range(max(0, top - cell_y), min(cover_height - h, top + cell_y) + 1))
        assert nearest[0] < 1, f"{w}x{h} of the {cover_width}x{cover_height} cover: libvips at ({left},{top}), " \
            f"no window of ours within a grid point of it (closest {nearest})"


@pytest.mark.parametrize("file", [
    "jpeg/exif-orientation/Landscape_1.jpg", "jpeg/exif-orientation/Portrait_1.jpg", "jpeg/libjpeg-turbo/testorig.jpg",
    "avif/link-u/kimono.avif",
])
def test_smart_crop_takes_libvips_s_attention_window(stack, file):
    """API.md names libvips's `attention` strategy as the reference for `smart`. On real
    photos the window is libvips's (a black-box tester had found ours across the photo: 60 px
    off in a free span of 60, 126 in 357)."""
    _assert_smart_window_is_libvips_s(stack, corpus_bytes(file), [(120, 120), (60, 180), (180, 60), (300, 100)])


def test_smart_crop_ignores_colour_under_transparency_and_takes_small_covers_as_libvips(stack):
    """libvips premultiplies before it looks: saturated, skin-like colour hidden under alpha 0
    on the left must not draw the window from the detail on the right. Covers narrower than
    the 32-point grid are enlarged to it, as libvips does."""
    chooser = random.Random(3)
    scene = Image.new("RGBA", (600, 200), (128, 128, 128, 255))
    hidden = Image.new("RGBA", (200, 200))
    hidden.putdata([(chooser.randrange(180, 256), chooser.randrange(0, 90), chooser.randrange(0, 60), 0) for _ in range(200 * 200)])
    scene.paste(hidden, (0, 0))
    scene.paste(Tools.noise(140, 120, seed=6).convert("L").convert("RGBA"), (420, 40))
    _assert_smart_window_is_libvips_s(stack, Tools.png(scene), [(200, 200)])
    small = Image.new("RGB", (40, 30), (100, 100, 100))
    small.paste((230, 40, 40), (28, 5, 38, 25))
    _assert_smart_window_is_libvips_s(stack, Tools.png(small), [(20, 20), (12, 25)])


def test_resize_pad_letterboxes_to_exactly_the_box(stack, halves):
    im, _ = get_image(stack, f"/images/{halves['id']}/resize:100x100,pad.png")
    # Black and white halves on transparent bands: written grey with alpha (PNG colour type 4).
    assert im.size == (100, 100) and im.mode == "LA"
    im = im.convert("RGBA")
    assert im.getpixel((50, 5))[3] == 0 and im.getpixel((50, 95))[3] == 0  # transparent bands
    assert im.getpixel((10, 50))[:3] == (0, 0, 0) and im.getpixel((90, 50))[:3] == (255, 255, 255)
    jpg, _ = get_image(stack, f"/images/{halves['id']}/resize:100x100,pad.jpg")
    assert min(jpg.convert("RGB").getpixel((50, 5))) > 245  # white without alpha
    green, _ = get_image(stack, f"/images/{halves['id']}/resize:100x100,pad,00ff00.png")
    assert green.convert("RGBA").getpixel((50, 5)) == (0, 255, 0, 255)


def test_resize_pad_of_a_large_jpeg_is_letterboxed_not_stretched(stack):
    # A JPEG large enough for shrink-on-load: the fused decode must not stretch to the box.
    photo = Image.new("RGB", (2400, 1200), (200, 30, 30))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    image = stack.upload_ok(buf.getvalue(), content_type="image/jpeg")
    im, _ = get_image(stack, f"/images/{image['id']}/resize:300x300,pad.jpg")
    assert im.size == (300, 300)
    rgb = im.convert("RGB")
    assert min(rgb.getpixel((150, 20))) > 240 and rgb.getpixel((150, 150))[0] > 180  # white band, red picture


def test_pad_adds_borders_of_its_colour(stack):
    image = stack.upload_ok(Tools.png(Image.new("RGB", (50, 50), (10, 20, 30))))
    im, r = get_image(stack, f"/images/{image['id']}/pad:10,20,30,40.png")
    assert im.size == (110, 90) and r.headers["X-Progimage-Instance"] == "pad"
    rgba = im.convert("RGBA")
    assert rgba.getpixel((0, 0))[3] == 0 and rgba.getpixel((45, 15)) == (10, 20, 30, 255)
    assert rgba.getpixel((45, 5))[3] == 0 and rgba.getpixel((105, 45))[3] == 0
    im, _ = get_image(stack, f"/images/{image['id']}/pad:2,2,2,2,ff000080.png")
    r_, g_, b_, a_ = im.convert("RGBA").getpixel((0, 0))
    assert (r_, g_, b_) == (255, 0, 0) and abs(a_ - 128) <= 2
    im, _ = get_image(stack, f"/images/{image['id']}/pad:5,5,5,5.jpg")
    assert min(im.convert("RGB").getpixel((1, 1))) > 245


@pytest.mark.parametrize("alpha", [1, 0x33, 0x7F, 0x80, 0xFE])
@pytest.mark.parametrize("source", ["jpeg", "translucent png"])
def test_a_border_keeps_its_colours_alpha_exactly(stack, alpha, source):
    """`rrggbbaa` is the border's colour, every alpha level: libgd holds alpha in 7 bits, so
    0x80 came out 129 and 0xfe opaque. Borders (alone, after moves, or after other work as
    in a padding resize) are drawn on 8-bit rows, and flattened on white from there for a
    format without alpha: around an opaque image a bmp's border was up to 2 levels off
    (black at alpha 129 came out 124 for 126; a black-box tester)."""
    if source == "jpeg":
        data, inside = Tools.jpeg(Image.new("RGB", (60, 40), (10, 100, 200))), None
    else:
        data, inside = Tools.png(Image.new("RGBA", (60, 40), (10, 100, 200, 77))), (10, 100, 200, 77)
    image = stack.upload_ok(data)
    colour = f"ff8000{alpha:02x}"
    for ops, corner in ((f"pad:2,2,2,2,{colour}", (0, 0)), (f"flip:h/pad:0,3,0,0,{colour}", (62, 20)),
                        (f"resize:60x60,pad,{colour}", (0, 0)), (f"grayscale/pad:1,1,1,1,{colour}", (0, 0))):
        for ext in ("png", "tiff"):
            im, _ = get_image(stack, f"/images/{image['id']}/{ops}.{ext}")
            rgba = im.convert("RGBA")
            assert rgba.getpixel(corner) == (255, 128, 0, alpha), (ops, ext)
            if inside and ops.split("/")[0].split(":")[0] in ("pad", "flip"):
                # Moves and borders alone keep the image's own alpha too (a resize's is libgd's).
                assert rgba.getpixel((30, 30)) == inside, (ops, ext)
        im, _ = get_image(stack, f"/images/{image['id']}/{ops}.bmp")
        flattened = tuple((c * alpha + 255 * (255 - alpha) + 127) // 255 for c in (255, 128, 0))
        assert im.convert("RGB").getpixel(corner) == flattened, (ops, "bmp")


@pytest.mark.parametrize("alpha", [1, 0x80, 0xFE])
@pytest.mark.parametrize("size,fmt", [((8193, 4), "PNG"), ((9000, 10), "JPEG"), ((4, 9000), "PNG")])
def test_a_border_after_work_keeps_its_alpha_on_a_source_wider_than_the_output_limit(stack, alpha, size, fmt):
    """A source with a side over the 8192-pixel output limit took libgd's path for the
    border after its resize: alpha 0x80 came out 129 and 0xfe opaque, written as RGB
    (a black-box probe, ten sources from 8193×4 to 20000×1)."""
    data = Tools.png(Image.new("RGB", size, (10, 100, 200))) if fmt == "PNG" else Tools.jpeg(Image.new("RGB", size, (10, 100, 200)))
    image = stack.upload_ok(data)
    colour = f"123456{alpha:02x}"
    for ops in (f"resize:100x100,pad,{colour}", f"resize:100x100/pad:1,1,1,1,{colour}"):
        for ext in ("png", "tiff"):
            im, _ = get_image(stack, f"/images/{image['id']}/{ops}.{ext}")
            assert im.mode in ("RGBA", "LA"), (ops, ext, im.mode)
            assert im.convert("RGBA").getpixel((0, 0)) == (0x12, 0x34, 0x56, alpha), (ops, ext)


def test_padding_and_gravity_spellings(stack, halves):
    i = halves["id"]
    r = stack.get(f"/images/{i}/resize:100x100,fill,c.png")
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{i}/resize:100x100,fill.png"
    r = stack.get(f"/images/{i}/pad:1,1,1,1,FF0000.png")
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{i}/pad:1,1,1,1,ff0000.png"
    for bad in ("resize:100x,pad", "resize:10x10,fill,up", "resize:10x10,pad,red", "pad:1,2,3", "pad:9000,0,0,0",
                "resize:10x10,force,n"):
        Tools.json_error(stack.get(f"/images/{i}/{bad}.png"), 400, "bad_operation")


# ---- frames ---------------------------------------------------------------------------------


def test_frames_counts_an_animation_and_is_1_for_a_still(stack):
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif, webp = io.BytesIO(), io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    frames[0].save(webp, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    assert stack.upload_ok(gif.getvalue(), content_type="image/gif")["frames"] == 3
    assert stack.upload_ok(webp.getvalue(), content_type="image/webp")["frames"] == 3
    still = stack.upload_ok(Tools.png(Tools.noise(10, 10)))
    assert still["frames"] == 1
    assert stack.get(f"/images/{still['id']}").json()["frames"] == 1


# ---- presets ----------------------------------------------------------------------------------

# `tinygray` uses two presets defined before it, as a URL would.
PRESETS = "thumb=resize:60x60,fill/quality:70;tiny=resize:16x;gray=grayscale;q=quality:20;tinygray=preset:tiny/preset:gray"


@pytest.fixture(scope="module")
def preset_stack(stack_factory):
    return stack_factory({"PROGIMAGE_PRESETS": PRESETS})


def test_a_preset_stands_for_its_chain_and_is_canonical_as_written(preset_stack):
    stack = preset_stack
    image = stack.upload_ok(Tools.png(Tools.noise(200, 100, seed=41)))
    i = image["id"]
    im, r = get_image(stack, f"/images/{i}/preset:thumb.jpg")
    assert im.size == (60, 60) and r.headers["X-Progimage-Instance"] == "resize"  # the expansion's role
    direct, _ = get_image(stack, f"/images/{i}/resize:60x60,fill/quality:70.jpg")
    assert Tools.same_pixels(im, direct)
    im, r = get_image(stack, f"/images/{i}/preset:tiny/preset:gray.png")
    assert im.size == (16, 8) and r.headers["X-Progimage-Instance"] == "grayscale"
    nested, r = get_image(stack, f"/images/{i}/preset:tinygray.png")
    assert Tools.same_pixels(nested, im) and r.headers["X-Progimage-Instance"] == "grayscale"
    im, r = get_image(stack, f"/images/{i}/rotate:90/preset:tiny.webp")
    assert im.size == (16, 32)
    # Combined with operations written non-canonically: only those are rewritten.
    r = stack.get(f"/images/{i}/preset:tiny/rotate:-90.png")
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{i}/preset:tiny/rotate:270.png"
    Tools.json_error(stack.get(f"/images/{i}/preset:nope.png"), 400, "bad_operation")
    Tools.json_error(stack.get(f"/images/{i}/preset:thumb/quality:50.jpg"), 400, "bad_operation")  # quality twice


@pytest.mark.parametrize("ops,ext,role", [
    ("flip:h/preset:q", "jpg", "flip"),
    ("grayscale/preset:q", "webp", "grayscale"),
    ("resize:10x/preset:q", "avif", "resize"),
    ("preset:tiny/preset:q", "jpg", "resize"),
    ("preset:gray/preset:q", "webp", "grayscale"),
    ("preset:q", "jpg", "convert"),
])
def test_a_preset_of_quality_alone_routes_to_the_operation_before_it(preset_stack, ops, ext, role):
    """A preset holding only `quality` is no pixel operation: the miss goes to the role of
    the last pixel operation before it (nginx's map knows each preset's expansion). It went
    to `convert`, which answered 421."""
    stack = preset_stack
    i = stack.upload_ok(Tools.png(Tools.noise(40, 30, seed=43)))["id"]
    im, r = get_image(stack, f"/images/{i}/{ops}.{ext}")
    assert r.headers["X-Cache"] == "MISS" and r.headers["X-Progimage-Instance"] == role, Tools.describe(r)
    hit = stack.get(f"/images/{i}/{ops}.{ext}")
    assert hit.status_code == 200 and hit.headers["X-Cache"] == "HIT" and hit.content == r.content
    direct, _ = get_image(stack, f"/images/{i}/{ops.replace('preset:q', 'quality:20')}.{ext}")
    assert Tools.same_pixels(im, direct)


def test_a_presets_quality_applies_where_the_format_takes_one(preset_stack):
    """A preset's `quality` is left out of a png, gif, bmp or tiff (one preset serves every
    format); a URL's own `quality` there stays a 400. So `.auto` sends an image with alpha
    through a quality-holding preset to png, as API.md says, instead of flattening it into
    a jpg (the preset had been a 400 on png)."""
    stack = preset_stack
    i = stack.upload_ok(Tools.png(Tools.noise(200, 100, mode="RGBA", seed=44)))["id"]
    for ext in ("png", "gif", "bmp", "tiff"):
        im, r = get_image(stack, f"/images/{i}/preset:thumb.{ext}")
        direct, _ = get_image(stack, f"/images/{i}/resize:60x60,fill.{ext}")
        assert im.size == (60, 60) and Tools.same_pixels(im, direct), ext
        assert r.headers["X-Progimage-Instance"] == "resize"
    plain, _ = get_image(stack, f"/images/{i}.png")
    quality_only, _ = get_image(stack, f"/images/{i}/preset:q.png")
    assert Tools.same_pixels(quality_only, plain)
    Tools.json_error(stack.get(f"/images/{i}/preset:thumb/quality:50.png"), 400, "bad_operation")
    # The lossy formats still take it: the same bytes as the quality written out, smaller than
    # the default quality's.
    preset = stack.get(f"/images/{i}/preset:thumb.webp")
    direct = stack.get(f"/images/{i}/resize:60x60,fill/quality:70.webp")
    default = stack.get(f"/images/{i}/resize:60x60,fill.webp")
    assert preset.content == direct.content and len(direct.content) < len(default.content)

    r = stack.get(f"/images/{i}/preset:thumb.auto?x=1", headers={"Accept": "image/*"})
    assert r.status_code == 302 and r.headers["Location"] == f"/images/{i}/preset:thumb.png?x=1", Tools.describe(r)
    target, _ = get_image(stack, r.headers["Location"])
    assert target.mode == "RGBA" and target.size == (60, 60)
    r = stack.get(f"/images/{i}/preset:thumb.auto", headers={"Accept": "image/webp"})
    assert r.headers["Location"] == f"/images/{i}/preset:thumb.webp", Tools.describe(r)


def test_presets_only_refuses_free_form_chains(stack_factory):
    stack = stack_factory({"PROGIMAGE_PRESETS": PRESETS, "PROGIMAGE_PRESETS_ONLY": "1"})
    image = stack.upload_ok(Tools.png(Tools.noise(50, 50, seed=42)))
    i = image["id"]
    Tools.json_error(stack.get(f"/images/{i}/resize:10x.png"), 403, "preset_required")
    Tools.json_error(stack.get(f"/images/{i}/preset:tiny/rotate:90.png"), 403, "preset_required")
    assert stack.get(f"/images/{i}/preset:tiny.png").status_code == 200
    assert stack.get(f"/images/{i}.webp").status_code == 200  # plain conversions stay allowed


def test_a_changed_preset_never_serves_its_old_files():
    """`framed` is unchanged as written, but uses `card`: its files are stale too. A changed
    preset's files are dated anew (a client's If-Modified-Since from before gets the new
    bytes, never a 304), and an unchanged preset's keep their validators, also re-rendered
    after an eviction (derived files are dated by what they are made from)."""
    presets = "card=resize:40x;framed=preset:card/pad:1,1,1,1;plain=resize:30x"
    first = Stack({"PROGIMAGE_PRESETS": presets})
    first.start()
    try:
        image = first.upload_ok(Tools.png(Tools.noise(200, 100, seed=43)))
        path, framed = f"/images/{image['id']}/preset:card.png", f"/images/{image['id']}/preset:framed.png"
        plain = f"/images/{image['id']}/preset:plain.png"
        assert get_image(first, path)[0].size == (40, 20) and get_image(first, framed)[0].size == (42, 22)
        assert first.get(path).headers["X-Cache"] == "HIT" and first.get(framed).headers["X-Cache"] == "HIT"
        before = {p: first.get(p).headers for p in (path, framed, plain)}
    finally:
        assert not first.stop()
    time.sleep(1.1)  # a date given at the second start is a later second
    second = Stack({"PROGIMAGE_PRESETS": presets.replace("card=resize:40x", "card=resize:80x"),
                    "PROGIMAGE_DATA_DIR": str(first.data_dir), "PROGIMAGE_CACHE_DIR": str(first.cache_dir)},
                   backend_env=first.backend_env)
    second.start()
    try:
        im, r = get_image(second, path)
        assert im.size == (80, 40) and r.headers["X-Cache"] == "MISS"
        im, r = get_image(second, framed)
        assert im.size == (82, 42) and r.headers["X-Cache"] == "MISS"
        for p in (path, framed):
            r = second.get(p, headers={"If-Modified-Since": before[p]["Last-Modified"]})
            assert r.status_code == 200 and r.headers["ETag"] != before[p]["ETag"], Tools.describe(r)
        r = second.get(plain)
        assert r.headers["X-Cache"] == "HIT" and r.headers["ETag"] == before[plain]["ETag"]
        i = image["id"]
        (first.cache_dir / i[:2] / i[2:4] / i / "preset:plain.png").unlink()
        r = second.get(plain)
        assert r.headers["X-Cache"] == "MISS" and r.headers["ETag"] == before[plain]["ETag"], Tools.describe(r)
        assert r.headers["Last-Modified"] == before[plain]["Last-Modified"]
    finally:
        assert not second.stop()
        second.cleanup_files()
        first.cleanup_files()


def test_presets_only_refuses_free_form_files_made_before_the_switch():
    """nginx serves derived files from disk before any instance is asked: with presets
    only, a free-form file made while they were allowed must be refused all the same."""
    first = Stack({"PROGIMAGE_PRESETS": PRESETS})
    first.start()
    try:
        image = first.upload_ok(Tools.png(Tools.noise(50, 50, seed=44)))
        free, preset = f"/images/{image['id']}/resize:10x.png", f"/images/{image['id']}/preset:tiny.png"
        for path in (free, preset, f"/images/{image['id']}/preset:tiny/quality:50.jpg"):
            assert first.get(path).status_code == 200 and first.get(path).headers["X-Cache"] == "HIT"
    finally:
        assert not first.stop()
    second = Stack({"PROGIMAGE_PRESETS": PRESETS, "PROGIMAGE_PRESETS_ONLY": "1", "PROGIMAGE_DATA_DIR": str(first.data_dir),
                    "PROGIMAGE_CACHE_DIR": str(first.cache_dir)}, backend_env=first.backend_env)
    second.start()
    try:
        Tools.json_error(second.get(free), 403, "preset_required")
        Tools.json_error(second.get(f"/images/{image['id']}/preset:tiny/quality:50.jpg"), 403, "preset_required")
        r = second.get(preset)
        assert r.status_code == 200 and r.headers["X-Cache"] == "HIT", Tools.describe(r)
    finally:
        assert not second.stop()
        second.cleanup_files()
        first.cleanup_files()


@pytest.mark.parametrize("definition", ["Thumb=resize:10x", "thumb=resize:0x0", "thumb", "a=resize:10x;a=grayscale",
                                        "x=quality:70/quality:80", "a=preset:b;b=flip:h", "a=preset:a",
                                        "a=resize:10x/quality:50;b=preset:a/quality:60"])
def test_a_bad_preset_definition_stops_the_start(definition, tmp_path):
    assert_start_refused("PROGIMAGE_PRESETS", definition, tmp_path)


# ---- overlay ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def overlay_pair(stack):
    base = stack.upload_ok(Tools.png(Image.new("RGB", (200, 100), (0, 0, 255))))
    logo = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    logo.paste((0, 0, 0, 0), (0, 0, 10, 20))  # a transparent left quarter
    mark = stack.upload_ok(Tools.png(logo))
    return base, mark


def test_overlay_composites_at_its_gravity_with_its_alpha(stack, overlay_pair):
    base, mark = overlay_pair
    b, m = base["id"], mark["id"]
    im, r = get_image(stack, f"/images/{b}/overlay:{m}.png")
    assert im.size == (200, 100) and r.headers["X-Progimage-Instance"] == "overlay"
    rgb = im.convert("RGB")
    assert rgb.getpixel((190, 90)) == (255, 0, 0)      # south-east: the logo
    assert rgb.getpixel((165, 90)) == (0, 0, 255)      # its transparent quarter shows the base
    assert rgb.getpixel((100, 50)) == (0, 0, 255)
    im, _ = get_image(stack, f"/images/{b}/overlay:{m},nw.png")
    assert im.convert("RGB").getpixel((30, 10)) == (255, 0, 0)
    im, _ = get_image(stack, f"/images/{b}/overlay:{m},c,0.5.png")
    r_, g_, b_ = im.convert("RGB").getpixel((110, 50))
    assert abs(r_ - 128) <= 3 and abs(b_ - 127) <= 3 and g_ == 0


@pytest.mark.parametrize("base_alpha", [100, 255])
@pytest.mark.parametrize("opacity,ext", [("1", "png"), ("0.37", "png"), ("0.5", "tiff")])
def test_a_translucent_overlay_keeps_8_bit_alpha(stack, opacity, ext, base_alpha):
    """Source-over in straight alpha, the overlay's alpha in 8 bits over a translucent image
    (its rows 8-bit too) and over an opaque one (libgd's): every pixel is what the
    Porter-Duff formula gives, rounded. libgd's path held both alphas in 7 bits (alpha 100
    read as 99.6, 77 as 76.3)."""
    base_colour, over_colour = (10, 200, 30, base_alpha), (200, 20, 50, 77)
    base = stack.upload_ok(Tools.png(Image.new("RGBA" if base_alpha < 255 else "RGB", (40, 30), base_colour[:4 if base_alpha < 255 else 3])))
    mark = stack.upload_ok(Tools.png(Image.new("RGBA", (10, 10), over_colour)))
    spelled = "" if opacity == "1" else f",{opacity}"  # the canonical spelling
    im, _ = get_image(stack, f"/images/{base['id']}/overlay:{mark['id']},c{spelled}.{ext}")
    over_alpha, under_alpha = over_colour[3] / 255 * float(opacity), base_colour[3] / 255
    alpha = over_alpha + under_alpha * (1 - over_alpha)
    expected = tuple(round((o * over_alpha + u * under_alpha * (1 - over_alpha)) / alpha)
                     for o, u in zip(over_colour[:3], base_colour[:3])) + (round(alpha * 255),)
    got = im.convert("RGBA").getpixel((20, 15))
    assert got == expected
    assert im.convert("RGBA").getpixel((2, 2)) == base_colour
    if base_alpha == 255:
        assert im.mode != "RGBA" or im.getchannel("A").getextrema() == (255, 255)  # an opaque base stays opaque


def test_an_overlay_larger_than_the_image_is_shrunk_to_fit(stack, overlay_pair):
    _, mark = overlay_pair
    small = stack.upload_ok(Tools.png(Image.new("RGB", (20, 20), (0, 255, 0))))
    im, _ = get_image(stack, f"/images/{small['id']}/overlay:{mark['id']},n.png")
    assert im.size == (20, 20)
    rgb = im.convert("RGB")
    assert rgb.getpixel((15, 2)) == (255, 0, 0) and rgb.getpixel((10, 15)) == (0, 255, 0)  # 20×10 logo at the top


def test_overlay_spellings_and_an_unknown_overlay(stack, overlay_pair):
    base, mark = overlay_pair
    b, m = base["id"], mark["id"]
    r = stack.get(f"/images/{b}/overlay:{m},se,1.png")
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{b}/overlay:{m}.png"
    r = stack.get(f"/images/{b}/overlay:{m},n,0.50.png")
    assert r.status_code == 301 and r.headers["Location"] == f"/images/{b}/overlay:{m},n,0.5.png"
    Tools.json_error(stack.get(f"/images/{b}/overlay:AAAAAAAAAAAAAAAAAAAA.png"), 404, "not_found")
    for bad in (f"overlay:{m},up", f"overlay:{m},n,0", f"overlay:{m},n,1.5", f"overlay:{m},n,1,x", "overlay"):
        Tools.json_error(stack.get(f"/images/{b}/{bad}.png"), 400, "bad_operation")


@pytest.mark.parametrize("overlay_id", ["short", "", "A" * 65, "AAAAAAAAAAAAAAA~", "AAAAAAAA AAAAAAAA"])
def test_a_malformed_overlay_id_is_not_found(stack, overlay_pair, overlay_id):
    """API.md: "Anything else in an id position is a 404", as for `/images/{id}`: no image
    can have that id. It answered 400 bad_operation."""
    base, _ = overlay_pair
    for gravity in ("", ",n", ",c,0.5"):
        Tools.json_error(stack.get(f"/images/{base['id']}/overlay:{overlay_id}{gravity}.png"), 404, "not_found")


def test_deleting_an_overlay_makes_every_url_using_it_404_cached_or_not(stack):
    base = stack.upload_ok(Tools.png(Image.new("RGB", (100, 100), (0, 0, 255))))
    mark = stack.upload_ok(Tools.png(Image.new("RGB", (10, 10), (255, 0, 0))))
    cached = f"/images/{base['id']}/overlay:{mark['id']}.webp"
    assert stack.get(cached).status_code == 200
    assert stack.get(cached).headers["X-Cache"] == "HIT"
    assert stack.delete(f"/images/{mark['id']}").status_code == 204
    Tools.json_error(stack.get(cached), 404, "not_found")
    Tools.json_error(stack.get(f"/images/{base['id']}/overlay:{mark['id']},nw.png"), 404, "not_found")
    # Its other spellings too, and `.auto`: they were 301s and a 302 to the 404, each kept a
    # day by a cache (a black-box probe).
    for spelling in (f"overlay:{mark['id']}.jpeg", f"overlay:{mark['id']},se.png", f"overlay:{mark['id']}/rotate:-90.png",
                     f"overlay:{mark['id']}.auto", f"overlay:{mark['id']},se.auto", f"overlay:{mark['id']}.tif"):
        Tools.json_error(stack.get(f"/images/{base['id']}/{spelling}", allow_redirects=False), 404, "not_found")
    never = "A" * 16
    Tools.json_error(stack.get(f"/images/{base['id']}/overlay:{never}.jpeg", allow_redirects=False), 404, "not_found")
    Tools.json_error(stack.get(f"/images/{base['id']}/overlay:{never}.auto", allow_redirects=False), 404, "not_found")
    assert stack.get(base["url"]).status_code == 200  # the base itself stays


def test_an_overlay_s_list_of_users_names_each_file_once_and_lets_go_of_files_gone(stack_factory):
    """The list of files made with an overlay (`.overlays/{id}`, what its delete removes)
    had a line added at every render, kept or not, and lost none but by the overlay's own
    delete: a black-box soak left 1,610 lines, 99 % naming files evicted, pruned or of
    deleted images, outside the cache budget. A path is listed once; a prune pass drops the
    lines of files gone, and the overlay's delete still removes what is left."""
    from test_check import WORKER

    stack = stack_factory({"PROGIMAGE_THREADS": "2", "PROGIMAGE_CACHE_MAX_BYTES": "1000000000"})
    mark = stack.upload_ok(Tools.png(Image.new("RGB", (10, 10), (255, 0, 0))))
    bases = [stack.upload_ok(Tools.png(Tools.noise(60, 40, seed=s))) for s in range(3)]
    urls = [f"/images/{b['id']}/resize:{w}x/overlay:{mark['id']}.png" for b in bases for w in (20, 30)]
    for _ in range(3):
        for url in urls:
            assert stack.get(url).status_code == 200
    listed = stack.cache_dir / ".overlays" / mark["id"]
    lines = listed.read_text().split()
    assert sorted(lines) == sorted(set(lines)) and len(lines) == len(urls), lines

    gone = bases[0]
    assert stack.delete(f"/images/{gone['id']}").status_code == 204
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROGIMAGE_", "AWS_"))}
    env.update(stack.backend_env, **stack.extra_env, PROGIMAGE_DATA_DIR=str(stack.data_dir),
               PROGIMAGE_CACHE_DIR=str(stack.cache_dir))
    pruned = subprocess.run([str(WORKER), "prune"], env=env, capture_output=True, text=True, timeout=120)
    assert pruned.returncode == 0, pruned.stderr
    left = listed.read_text().split()
    assert len(left) == len(urls) - 2 and not [line for line in left if gone["id"] in line], left

    assert stack.delete(f"/images/{mark['id']}").status_code == 204
    assert not listed.exists()
    for url in urls:
        Tools.json_error(stack.get(url), 404, "not_found")

    # With a cache that keeps nothing, every request renders again: one line still.
    keeps_nothing = stack_factory({"PROGIMAGE_THREADS": "2", "PROGIMAGE_CACHE_MAX_BYTES": "0"})
    mark = keeps_nothing.upload_ok(Tools.png(Image.new("RGB", (10, 10), (255, 0, 0))))
    base = keeps_nothing.upload_ok(Tools.png(Tools.noise(60, 40, seed=9)))
    for _ in range(3):
        assert keeps_nothing.get(f"/images/{base['id']}/overlay:{mark['id']}.png").status_code == 200
    assert len((keeps_nothing.cache_dir / ".overlays" / mark["id"]).read_text().split()) == 1


def test_an_overlay_use_that_cannot_be_recorded_is_answered_but_not_kept(stack):
    """The list of files made with an overlay is what its delete removes; when a use cannot
    be written to it (here `.overlays` is a file, as a full cache disk refuses the append),
    the file was kept anyway, unlisted, and served after the overlay's delete."""
    base = stack.upload_ok(Tools.png(Image.new("RGB", (100, 100), (0, 0, 255))))
    mark = stack.upload_ok(Tools.png(Image.new("RGB", (10, 10), (255, 0, 0))))
    lists = stack.cache_dir / ".overlays"
    aside = stack.cache_dir / ".overlays-aside"  # the other tests' lists, back afterwards
    lists.mkdir(parents=True, exist_ok=True)
    lists.rename(aside)
    lists.write_bytes(b"not a folder")
    url = f"/images/{base['id']}/overlay:{mark['id']}.png"
    try:
        first = stack.get(url)
        again = stack.get(url)
    finally:
        lists.unlink()
        aside.rename(lists)
    assert first.status_code == 200, Tools.describe(first)
    assert Tools.decode(first.content).convert("RGB").getpixel((95, 95)) == (255, 0, 0)  # se, the default
    assert again.headers.get("X-Cache") != "HIT", "kept although its use was not recorded"
    assert stack.delete(f"/images/{mark['id']}").status_code == 204
    Tools.json_error(stack.get(url), 404, "not_found")
