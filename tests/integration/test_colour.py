"""Faithful pixels: colour-managed sources come out sRGB, and the same bytes always give
the same pixels. The reference is LittleCMS through Pillow's ImageCms, fed the numbers
an independent decoder (Pillow, pillow-heif) read from the same file."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms

import iccprofile
from tiffbytes import planar_tiff

SRGB = ImageCms.createProfile("sRGB")
# Ghostscript's SWOP-like CMYK profile (Debian libgs-common, installed by `make test`).
CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")


def photo(w=320, h=240):
    """Smooth, saturated colour fields: where a colour space shows, and resamplers agree."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (40 + 200 * x // w, 30 + 190 * y // h, 220 - 180 * (x + y) // (w + h))
    return im


def differences(a: Image.Image, b: Image.Image) -> tuple[float, int]:
    """Mean and 99th percentile of the per-channel absolute difference."""
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    hist = diff.histogram()
    total = sum(hist)
    mean = sum(i % 256 * n for i, n in enumerate(hist)) / total
    per_level = [sum(hist[c * 256 + level] for c in range(3)) for level in range(256)]
    seen, p99 = 0, 0
    for level, n in enumerate(per_level):
        seen += n
        if seen >= 0.99 * total:
            p99 = level
            break
    return mean, p99


def to_srgb(stored: Image.Image, profile_bytes: bytes) -> Image.Image:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes))
    return ImageCms.profileToProfile(stored, source, SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")


def check_against(stack, tools, obj, reference: Image.Image, stored: Image.Image, *, thumbnail_width=120):
    """Full size (lossless out: PNG, or TIFF for a PNG source, whose .png is the original
    itself) and a thumbnail both within 1.5 levels mean of the
    reference, and the reference measurably different from the unconverted numbers, so
    the test can fail."""
    unconverted_mean, _ = differences(stored, reference)
    assert unconverted_mean > 4, f"the reference is too close to the stored numbers ({unconverted_mean:.2f})"

    lossless = "tiff" if obj["format"] == "png" else "png"
    r = stack.get(f"/images/{obj['id']}.{lossless}")
    assert r.status_code == 200, tools.describe(r)
    full = tools.decode(r.content)
    mean, p99 = differences(full, reference)
    assert mean <= 1.5 and p99 <= 4, f"full size: mean {mean:.2f}, p99 {p99} (unconverted: {unconverted_mean:.2f})"

    r = stack.get(f"/images/{obj['id']}/resize:{thumbnail_width}x.png")
    assert r.status_code == 200, tools.describe(r)
    thumb = tools.decode(r.content)
    expected = reference.resize(thumb.size, Image.Resampling.LANCZOS)
    mean, p99 = differences(thumb, expected)
    assert mean <= 1.5 and p99 <= 5, f"thumbnail: mean {mean:.2f}, p99 {p99}"


def test_display_p3_jpeg_comes_out_srgb(stack, tools):
    p3 = iccprofile.matrix_profile()
    data = tools.encode(photo(), "JPEG", quality=95, icc_profile=p3)
    stored = tools.decode(data).convert("RGB")
    obj = stack.upload_ok(data, "p3.jpg", "image/jpeg")
    check_against(stack, tools, obj, to_srgb(stored, p3), stored)


@pytest.mark.parametrize("fmt,ext,params", [("PNG", "png", {}), ("WEBP", "webp", {"lossless": True}),
                                             ("TIFF", "tiff", {})], ids=["png", "webp", "tiff"])
def test_display_p3_lossless_formats_come_out_srgb(stack, tools, fmt, ext, params):
    p3 = iccprofile.matrix_profile()
    source = photo()
    data = tools.encode(source, fmt, icc_profile=p3, **params)
    obj = stack.upload_ok(data, f"p3.{ext}", tools.CONTENT_TYPES[ext])
    check_against(stack, tools, obj, to_srgb(source, p3), source)


def test_nclx_p3_heic_comes_out_srgb(stack, tools):
    """HEIF/AVIF often say "P3" with `nclx` code points (12: P3-D65, 13: sRGB curve)
    instead of an ICC profile."""
    source = photo()
    data = tools.encode(source, "HEIF", quality=-1, color_primaries=12, transfer_characteristics=13,
                        matrix_coefficients=6, full_range_flag=1)
    stored = tools.decode(data).convert("RGB")
    assert "icc_profile" not in stored.info or not stored.info["icc_profile"]
    obj = stack.upload_ok(data, "p3.heic", "image/heic")
    check_against(stack, tools, obj, to_srgb(stored, iccprofile.matrix_profile()), stored)


@pytest.mark.parametrize("transfer,decode", [(8, lambda v: v), (5, lambda v: v ** 2.8)], ids=["linear", "gamma-2.8"])
def test_nclx_power_law_transfer_with_srgb_primaries_comes_out_srgb(stack, tools, transfer, decode):
    """sRGB's primaries (1) with a pure power law as the transfer (8: linear, 5: gamma 2.8;
    4, gamma 2.2, too, but it is within a level or two of sRGB's curve) is not sRGB: the primaries alone decided, and such a HEIC came out as stored (13 dB
    from its colours when linear)."""
    source = photo()
    data = tools.encode(source, "HEIF", quality=-1, color_primaries=1, transfer_characteristics=transfer,
                        matrix_coefficients=1, full_range_flag=1, chroma=444)
    stored = tools.decode(data).convert("RGB")

    def srgb(v: float) -> float:
        return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055

    table = [round(255 * srgb(decode(i / 255))) for i in range(256)]
    obj = stack.upload_ok(data, "power.heic", "image/heic")
    check_against(stack, tools, obj, stored.point(table * 3), stored)


@pytest.mark.parametrize("fmt,ext,params", [("JPEG", "jpg", {"quality": 95}), ("TIFF", "tiff", {}),
                                             ("TIFF", "tiff", {"compression": "tiff_lzw"})], ids=["jpg", "tiff", "tiff-lzw"])
def test_cmyk_with_profile_comes_out_srgb(stack, tools, fmt, ext, params):
    """CMYK through the press profile embedded. Pillow writes CMYK JPEGs as Photoshop does
    (an Adobe APP14 marker, inverted values: 0 = full ink). A CMYK TIFF is read as inks:
    libtiff's RGBA interface converts them with the naive formula, which left the profile
    nothing to describe (19.7 dB against LittleCMS, red 15 levels off with this profile)."""
    profile = CMYK_PROFILE.read_bytes()
    cmyk = ImageCms.profileToProfile(photo(), SRGB, ImageCms.ImageCmsProfile(io.BytesIO(profile)), outputMode="CMYK")
    data = tools.encode(cmyk, fmt, icc_profile=profile, **params)
    stored = tools.decode(data)
    assert stored.mode == "CMYK"
    reference = ImageCms.profileToProfile(
        stored, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB,
        renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    obj = stack.upload_ok(data, f"cmyk.{ext}", tools.CONTENT_TYPES[ext])
    check_against(stack, tools, obj, reference, stored.convert("RGB"))


def _cmyk_tiff(inks: Image.Image, layout: str, profile: bytes | None) -> bytes:
    """`inks` (Pillow CMYK) as a TIFF laid out as `layout` says, with `profile` embedded."""
    import pyvips
    width, height = inks.size
    if layout == "planar":
        planes = [list(band.tobytes()) for band in inks.split()]
        return planar_tiff(planes, width, height, photometric=5, extra_samples=(), icc_profile=profile)
    image = pyvips.Image.new_from_memory(inks.tobytes(), width, height, 4, "uchar").copy(interpretation="cmyk")
    if layout == "16-bit":
        image = (image.cast("ushort") * 257).cast("ushort").copy(interpretation="cmyk")
    if profile:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    tiled = {"tile": True, "tile_width": 32, "tile_height": 32} if layout == "tiled" else {}
    return image.tiffsave_buffer(**tiled)


@pytest.mark.parametrize("layout", ["tiled", "planar", "16-bit"])
@pytest.mark.parametrize("with_profile", [True, False], ids=["profile", "untagged"])
def test_a_cmyk_tiff_in_any_layout_reads_as_in_strips(stack, tools, layout, with_profile):
    """A black-box probe: tiled and planar CMYK TIFFs went through libtiff's naive formula
    with their profile left out (up to 96 levels off), and a 16-bit one was refused as
    corrupt (that interface has no 16-bit CMYK). Every layout is read as stored now:
    through the profile by LittleCMS, or untagged with the naive formula, R = (1 - C)(1 - K)
    truncated as libtiff does for 8-bit inks in strips. 16-bit inks are v × 257, so that
    rounding them to 8 bits gives v back."""
    profile = CMYK_PROFILE.read_bytes()
    inks = ImageCms.profileToProfile(photo(), SRGB, ImageCms.ImageCmsProfile(io.BytesIO(profile)), outputMode="CMYK")
    data = _cmyk_tiff(inks, layout, profile if with_profile else None)
    assert tools.decode(data).size == inks.size
    obj = stack.upload_ok(data, "cmyk.tiff", "image/tiff")
    assert (obj["width"], obj["height"]) == inks.size
    if with_profile:
        reference = ImageCms.profileToProfile(
            inks, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB,
            renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
        check_against(stack, tools, obj, reference, inks.convert("RGB"))
        return
    naive = Image.new("RGB", inks.size)
    naive.putdata([tuple((255 - k) * (255 - v) // 255 for v in (c, m, y)) for c, m, y, k in inks.get_flattened_data()])
    r = stack.get(f"/images/{obj['id']}.png")
    assert r.status_code == 200, tools.describe(r)
    assert list(tools.decode(r.content).convert("RGB").get_flattened_data()) == list(naive.get_flattened_data())


def _without_adobe_marker(jpeg: bytes) -> bytes:
    """`jpeg` with its APP14 ("Adobe") segments taken out, as some tools strip them."""
    out, i = bytearray(jpeg[:2]), 2
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF and jpeg[i + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(jpeg[i + 2:i + 4], "big")
        if not (jpeg[i + 1] == 0xEE and jpeg[i + 4:i + 9] == b"Adobe"):
            out += jpeg[i:i + 2 + length]
        i += 2 + length
    assert b"Adobe" not in out
    return bytes(out + jpeg[i:])


@pytest.mark.parametrize("with_profile", [True, False], ids=["profile", "untagged"])
def test_a_cmyk_jpeg_without_its_adobe_marker_reads_as_with_it(stack, tools, with_profile):
    """Every CMYK JPEG is Adobe's inverted inks, marker or not, to Chromium, Firefox, libvips
    and Pillow; read as plain inks, one whose APP14 a tool had stripped came out as its
    negative (a black-box probe: red as black, a photo 133 levels off on average)."""
    profile = CMYK_PROFILE.read_bytes()
    cmyk = ImageCms.profileToProfile(photo(), SRGB, ImageCms.ImageCmsProfile(io.BytesIO(profile)), outputMode="CMYK")
    marked = tools.encode(cmyk, "JPEG", quality=95, **({"icc_profile": profile} if with_profile else {}))
    stripped = _without_adobe_marker(marked)
    answers = []
    for data in (marked, stripped):
        obj = stack.upload_ok(data, "cmyk.jpg", "image/jpeg")
        r = stack.get(f"/images/{obj['id']}.png")
        assert r.status_code == 200, tools.describe(r)
        answers.append(tools.decode(r.content).convert("RGB"))
    assert list(answers[0].getdata()) == list(answers[1].getdata())
    # Not only the same as each other: Pillow's reading of the stripped file (inverted),
    # through the profile by LittleCMS, or untagged as R = (1 - C)(1 - K).
    inks = tools.decode(stripped)
    reference = ImageCms.profileToProfile(
        inks, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL,
        outputMode="RGB") if with_profile else inks.convert("RGB")
    mean, _ = differences(answers[1], reference)
    assert mean <= 1.5, f"mean {mean:.2f} from the reference"


GREY_PROFILE = Path("/usr/share/color/icc/ghostscript/ps_gray.icc")


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tiff")])
def test_grey_profile_on_a_grey_image_comes_out_srgb(stack, tools, fmt, ext):
    """Browsers honour a grey image's grey profile (Photoshop's dot-gain greys); its 256
    levels go through LittleCMS. Left as they were, ps_gray's 128 (146 in sRGB) was off
    by 15 levels on average."""
    profile = GREY_PROFILE.read_bytes()
    source = photo().convert("L")
    data = tools.encode(source, fmt, icc_profile=profile, **({"quality": 95} if fmt == "JPEG" else {}))
    stored = tools.decode(data).convert("L")
    reference = ImageCms.profileToProfile(
        stored, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB,
        renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    obj = stack.upload_ok(data, f"grey.{ext}", tools.CONTENT_TYPES[ext])
    check_against(stack, tools, obj, reference, stored.convert("RGB"))


def test_grey_profile_on_grey_pixels_with_invisible_colour_comes_out_srgb(stack, tools):
    """What an invisible pixel holds does not make an image colour: encoders often leave
    colour behind alpha 0. The visible grey pixels still go through the grey profile."""
    profile = GREY_PROFILE.read_bytes()
    grey = photo().convert("L")
    alpha = Image.new("L", grey.size, 255)
    alpha.paste(0, (0, 0, 40, 40))
    rgba = Image.merge("RGBA", [grey, grey, grey, alpha])
    rgba.paste((255, 0, 0, 0), (0, 0, 40, 40))
    obj = stack.upload_ok(tools.encode(rgba, "PNG", icc_profile=profile), "grey.png", "image/png")
    r = stack.get(f"/images/{obj['id']}.tiff")
    assert r.status_code == 200, tools.describe(r)
    out = tools.decode(r.content).convert("RGBA").crop((40, 40, grey.width, grey.height)).convert("RGB")
    reference = ImageCms.profileToProfile(
        grey, ImageCms.ImageCmsProfile(io.BytesIO(profile)), SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL,
        outputMode="RGB").crop((40, 40, grey.width, grey.height))
    mean, p99 = differences(out, reference)
    assert mean <= 1.5 and p99 <= 4, (mean, p99)


def test_grey_profile_on_a_colour_image_is_left(stack, tools):
    """A grey profile on colour pixels describes nothing they hold: the pixels are taken
    as sRGB, as browsers take them."""
    source = photo()
    data = tools.encode(source, "PNG", icc_profile=GREY_PROFILE.read_bytes())
    obj = stack.upload_ok(data, "odd.png", "image/png")
    r = stack.get(f"/images/{obj['id']}.tiff")
    assert r.status_code == 200, tools.describe(r)
    assert differences(tools.decode(r.content), source)[0] == 0


def test_srgb_tagged_and_untagged_jpegs_are_the_same(stack, tools):
    """An sRGB profile changes nothing: the tagged and untagged uploads give equal pixels."""
    source = photo()
    srgb_bytes = ImageCms.ImageCmsProfile(SRGB).tobytes()
    plain = stack.upload_ok(tools.encode(source, "JPEG", quality=90), "plain.jpg", "image/jpeg")
    tagged = stack.upload_ok(tools.encode(source, "JPEG", quality=90, icc_profile=srgb_bytes), "tagged.jpg", "image/jpeg")
    a = tools.decode(stack.get(f"/images/{plain['id']}.png").content)
    b = tools.decode(stack.get(f"/images/{tagged['id']}.png").content)
    mean, p99 = differences(a, b)
    assert mean <= 0.1 and p99 <= 1


# ---- same bytes, same pixels ----------------------------------------------------------


def jpeg_segments(data: bytes):
    """(marker, start, end) of each segment up to SOS."""
    at = 2
    while at < len(data):
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2:at + 4], "big")
        yield marker, at, at + 2 + length
        if marker == 0xDA:
            return
        at += 2 + length


def sos_segment(data: bytes):
    return next((s, e) for m, s, e in jpeg_segments(data) if m == 0xDA)


def test_a_jpeg_using_an_undefined_huffman_table_is_refused(stack, tools):
    """TurboJPEG 2.1 reported this fatal error as a warning once a warning had been seen
    (extraneous bytes first), and the service kept a buffer libjpeg never wrote: two
    uploads of the same bytes gave different pixels. It must be a 422, every time."""
    data = bytearray(tools.encode(photo(64, 48), "JPEG", quality=90))
    start, end = sos_segment(bytes(data))
    # Every component's table selectors → 5 (no such table), and two stray bytes before
    # the SOS marker so that libjpeg warns first.
    for i in range(data[start + 4]):
        data[start + 5 + 2 * i + 1] = 0x55
    data[start:start] = b"\x00\x00"
    for _ in range(3):
        r = stack.upload(bytes(data), "bad.jpg", "image/jpeg")
        tools.json_error(r, 422, "corrupt_image")


def test_extraneous_bytes_are_accepted_with_every_pixel(stack, tools):
    """Extraneous bytes between markers (common in camera files) lose nothing: accepted,
    and the pixels are those of the clean file."""
    clean = tools.encode(photo(64, 48), "JPEG", quality=90)
    start, _ = sos_segment(clean)
    dirty = clean[:start] + b"\x00\x00\x00" + clean[start:]
    a = stack.upload_ok(clean, "clean.jpg", "image/jpeg")
    b = stack.upload_ok(dirty, "dirty.jpg", "image/jpeg")
    pa = tools.decode(stack.get(f"/images/{a['id']}.png").content)
    pb = tools.decode(stack.get(f"/images/{b['id']}.png").content)
    assert tools.same_pixels(pa, pb)


def test_a_scan_that_ends_early_is_refused(stack, tools):
    """A scan cut in the middle and closed with EOI ("premature end of data segment"):
    libjpeg fills the rest with grey and only warns. Refused like a truncation, never
    stored as if whole."""
    clean = tools.encode(tools.noise(64, 64), "JPEG", quality=90)
    _, end = sos_segment(clean)
    data = clean[:(end + len(clean)) // 2] + b"\xff\xd9"
    r = stack.upload(data, "cut.jpg", "image/jpeg")
    tools.json_error(r, 422, "corrupt_image")


@pytest.mark.parametrize("fmt", ["tiff", "png"])
def test_16_bit_p3_sources_come_out_srgb(stack, tools, fmt):
    """16 bits a sample with a P3 profile. The reference is LittleCMS in 16 bits (libvips's
    icc_transform), rounded to 8 at the end, whose lookup table makes it a loose one: the
    exact reference is the wide-gamut test below."""
    import pyvips
    w, h = 320, 240
    xy = pyvips.Image.xyz(w, h)
    # Fine steps in the low byte too: a 16-bit ramp, not an 8-bit one widened.
    rgb = (xy[0] * 65535 / w).bandjoin([xy[1] * 65535 / h, (xy[0] + xy[1]) * 65535 / (w + h)]).cast("ushort")
    image = rgb.copy(interpretation="rgb16")
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", iccprofile.matrix_profile())
    data = image.tiffsave_buffer() if fmt == "tiff" else image.pngsave_buffer()

    def eight_bit(im):
        im = (im / 257 + 0.5).cast("uchar")
        return Image.frombytes("RGB", (im.width, im.height), im.write_to_memory())

    decoded = pyvips.Image.new_from_buffer(data, "")
    assert decoded.format == "ushort"
    reference = eight_bit(decoded.icc_transform("srgb", embedded=True, intent="perceptual"))
    obj = stack.upload_ok(data, f"p3-16.{fmt}", tools.CONTENT_TYPES[fmt])
    check_against(stack, tools, obj, reference, eight_bit(decoded))


PROPHOTO = {"red": (0.7347, 0.2653), "green": (0.1596, 0.8404), "blue": (0.0366, 0.0001), "white": (0.3457, 0.3585)}


def _lcms_exact_srgb(samples: bytes, count: int, profile: bytes) -> bytes:
    """8-bit sRGB R,G,B of `count` native-order 16-bit R,G,B pixels, by LittleCMS unoptimised
    in double precision (no lookup table between the numbers), rounded once."""
    import ctypes
    lcms = ctypes.CDLL("liblcms2.so.2")
    lcms.cmsOpenProfileFromMem.restype = ctypes.c_void_p
    lcms.cmsOpenProfileFromMem.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
    lcms.cmsCreate_sRGBProfile.restype = ctypes.c_void_p
    lcms.cmsCreateTransform.restype = ctypes.c_void_p
    lcms.cmsCreateTransform.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                                        ctypes.c_uint32, ctypes.c_uint32]
    lcms.cmsDoTransform.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
    type_rgb_16 = (4 << 16) | (3 << 3) | 2
    type_rgb_dbl = (1 << 22) | (4 << 16) | (3 << 3)
    no_optimize, no_cache = 0x0100, 0x0040
    source = lcms.cmsOpenProfileFromMem(profile, len(profile))
    transform = lcms.cmsCreateTransform(source, type_rgb_16, lcms.cmsCreate_sRGBProfile(), type_rgb_dbl, 0,
                                        no_optimize | no_cache)
    assert transform
    out = (ctypes.c_double * (count * 3))()
    lcms.cmsDoTransform(transform, ctypes.create_string_buffer(samples, len(samples)), out, count)
    return bytes(min(255, max(0, round(v * 255))) for v in out)


@pytest.mark.parametrize("fmt", ["png", "png-alpha", "tiff", "tiff-tiled-alpha", "avif", "jxl"])
def test_16_bit_wide_gamut_sources_are_converted_before_they_are_cut_to_8_bits(stack, tools, fmt, tmp_path):
    """A ProPhoto 16-bit (AVIF: 10-bit, lossless) source's saturated colours near sRGB's
    edge: cut to 8 bits first, then converted, they came out up to ~20 levels from an exact
    conversion of the deep numbers; converted first, every channel of every pixel is within
    one. The reference is LittleCMS in double precision without its lookup tables
    (libvips's 16-bit transform, the reference above, interpolates one and is itself up to
    ~15 off here), fed the numbers libvips decodes from the file."""
    import array
    import pyvips
    w, h = 256, 192
    xy = pyvips.Image.xyz(w, h)
    # Saturated ramps with fine steps in the low byte: 16-bit numbers, not 8-bit ones widened.
    rgb = (xy[0] * 65535 / w).bandjoin([xy[1] * 65535 / h, (w - 1 - xy[0] + xy[1]) * 65535 / (w + h)]).cast("ushort")
    profile = iccprofile.matrix_profile(PROPHOTO, (1.8, 1, 0, 0, 0), "ProPhoto (test)")
    image = rgb
    if fmt.endswith("alpha"):
        image = rgb.bandjoin((xy[0] * 32767 / w + 32768).cast("ushort"))
    image = image.copy(interpretation="rgb16")
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    if fmt.startswith("png"):
        data = image.pngsave_buffer()
    elif fmt == "avif":
        data = image.heifsave_buffer(lossless=True, bitdepth=10, compression="av1")
    elif fmt == "jxl":
        # Lossless (not XYB): the 16-bit numbers and the profile as they are.
        (tmp_path / "source.png").write_bytes(image.pngsave_buffer())
        subprocess.run(["cjxl", str(tmp_path / "source.png"), str(tmp_path / "lossless.jxl"), "-d", "0"],
                       check=True, capture_output=True)
        data = (tmp_path / "lossless.jxl").read_bytes()
    else:
        data = image.tiffsave_buffer(tile=fmt == "tiff-tiled-alpha", tile_width=64, tile_height=64)

    decoded = pyvips.Image.new_from_buffer(image.pngsave_buffer() if fmt == "jxl" else data, "")
    assert decoded.format == "ushort"
    samples = bytes(decoded.extract_band(0, n=3).write_to_memory())
    reference = _lcms_exact_srgb(samples, w * h, profile)
    words = array.array("H", samples)
    cut_first = _lcms_exact_srgb(array.array("H", (((v * 255 + 32767) // 65535) * 257 for v in words)).tobytes(),
                                 w * h, profile)
    assert max(abs(a - b) for a, b in zip(reference, cut_first)) >= 8, "the ramps should show what cutting first loses"

    ext = fmt.split("-")[0]
    obj = stack.upload_ok(data, f"prophoto-16.{ext}", tools.CONTENT_TYPES[ext])
    lossless = "tiff" if obj["format"] == "png" else "png"
    r = stack.get(f"/images/{obj['id']}.{lossless}")
    assert r.status_code == 200, tools.describe(r)
    served = tools.decode(r.content).convert("RGB").tobytes()
    assert len(served) == len(reference)
    worst = max(abs(a - b) for a, b in zip(served, reference))
    assert worst <= 1, f"a channel {worst} levels from the exact conversion"


def test_a_lossy_jxl_with_a_profile_libjxl_cannot_name_keeps_its_shadows(stack, tools, tmp_path):
    """libjxl hands a lossy (XYB) JPEG XL whose ICC profile it cannot express as one of its
    named encodings as linear sRGB unless asked otherwise, and 8-bit linear light has no
    room for shadows: a dark ramp kept 14 of its 48 levels, 1.75 levels off on average
    (13 at worst). Asked for sRGB, libjxl makes it from the XYB numbers in floating point."""
    import subprocess
    adobe_like = {"red": (0.64, 0.33), "green": (0.21, 0.71), "blue": (0.15, 0.06), "white": (0.3127, 0.3290)}
    profile = iccprofile.matrix_profile(adobe_like, (2.2, 0.95, 0.05, 0.1, 0.05), "Unnamed curve (test)")
    w, h = 512, 64
    ramp = Image.new("RGB", (w, h))
    px = ramp.load()
    for y in range(h):
        for x in range(w):
            v = x * 48 // w
            px[x, y] = (v, v, v // 3) if y < h // 2 else (v, v // 2, 200)
    ramp.save(tmp_path / "ramp.png", icc_profile=profile)
    subprocess.run(["cjxl", str(tmp_path / "ramp.png"), str(tmp_path / "ramp.jxl"), "-d", "0.1"],
                   check=True, capture_output=True)
    reference = to_srgb(ramp, profile)

    obj = stack.upload_ok((tmp_path / "ramp.jxl").read_bytes(), "ramp.jxl", "image/jxl")
    r = stack.get(f"/images/{obj['id']}.png")
    assert r.status_code == 200, tools.describe(r)
    served = tools.decode(r.content).convert("RGB")
    mean, _ = differences(served, reference)
    levels = len(set(served.crop((0, 5, w, 6)).tobytes()[0::3]))
    expected = len(set(reference.crop((0, 5, w, 6)).tobytes()[0::3]))
    assert mean <= 0.5, f"{mean:.2f} levels off on average"
    assert levels >= expected * 3 // 4, f"{levels} levels of red in a row where the source has {expected}"


def _png_with_chunk(image: Image.Image, chunk_type: bytes, data: bytes, **save) -> bytes:
    """`image` as a PNG with one more chunk right after IHDR."""
    import struct
    import zlib
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **save)
    png = buffer.getvalue()
    chunk = struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))
    return png[:33] + chunk + png[33:]


@pytest.mark.parametrize("case", ["p3", "srgb", "pq-falls-back-to-iccp"])
def test_a_png_says_its_colours_with_cicp(stack, tools, case):
    """PNG's third edition names colours by code points (`cICP`), over `iCCP`: a Display P3
    PNG tagged only so came out as if sRGB. Now as its `iCCP` twin (LittleCMS, the same
    primaries), sRGB code points as an untagged file, and HDR code points (PQ), which the
    service does not tone-map, leave the `iCCP` profile to say it."""
    image = Image.new("RGB", (48, 32))
    image.putdata([(250 if x < 16 else 40, 30 + 5 * y, 240 if x >= 32 else 60) for y in range(32) for x in range(48)])
    p3_profile = iccprofile.matrix_profile()
    twin = io.BytesIO()
    image.save(twin, "PNG", icc_profile=p3_profile)
    untagged = io.BytesIO()
    image.save(untagged, "PNG")
    if case == "p3":
        data, reference = _png_with_chunk(image, b"cICP", bytes([12, 13, 0, 1])), twin.getvalue()
    elif case == "srgb":
        data, reference = _png_with_chunk(image, b"cICP", bytes([1, 13, 0, 1])), untagged.getvalue()
    else:
        data, reference = _png_with_chunk(image, b"cICP", bytes([9, 16, 0, 1]), icc_profile=p3_profile), twin.getvalue()
    outputs = []
    for body in (data, reference):
        obj = stack.upload_ok(body)
        r = stack.get(f"/images/{obj['id']}/resize:24x.tiff")
        assert r.status_code == 200, tools.describe(r)
        outputs.append(tools.decode(r.content).convert("RGB"))
    got, want = outputs
    worst = max(abs(a - b) for p, q in zip(got.get_flattened_data(), want.get_flattened_data()) for a, b in zip(p, q))
    assert worst <= 1, f"{case}: {worst} levels from the reference"
    if case == "p3":  # and not as if sRGB: P3's red is past sRGB's
        as_srgb = tools.decode(stack.get(f"/images/{stack.upload_ok(untagged.getvalue())['id']}/resize:24x.tiff").content)
        assert max(abs(a - b) for a, b in zip(got.getpixel((2, 5)), as_srgb.convert("RGB").getpixel((2, 5)))) > 10


def test_a_mirrored_10_bit_avif_is_turned_as_its_container_says(stack, tools):
    """libheif 1.15 cannot mirror an image deeper than 8 bits ("Can currently only mirror
    images with 8 bits per pixel"): a valid 10-bit AVIF with `imir` was refused as corrupt.
    The service turns such images itself, in the container's order (`irot` 1, then `imir`
    axis 1, left-right): the same pixels as its unmirrored twin, mirrored."""
    fixtures = Path(__file__).parent / "fixtures"
    plain = stack.upload_ok((fixtures / "avif-10bit-irot1.avif").read_bytes())
    turned = stack.upload_ok((fixtures / "avif-10bit-irot1-imir1.avif").read_bytes())
    assert (turned["width"], turned["height"]) == (plain["width"], plain["height"]) == (48, 64)
    for ext in ("png", "tiff"):
        want = tools.decode(stack.get(f"/images/{plain['id']}.{ext}").content).convert("RGB")
        got = tools.decode(stack.get(f"/images/{turned['id']}.{ext}").content).convert("RGB")
        assert got.tobytes() == want.transpose(Image.Transpose.FLIP_LEFT_RIGHT).tobytes()
    # The red block (top-left of the source) ends bottom-left after the quarter turn
    # counter-clockwise, and bottom-right after the mirror.
    got = tools.decode(stack.get(f"/images/{turned['id']}.png").content).convert("RGB")
    r, g, b = got.getpixel((40, 50))
    assert r > 200 and g < 60 and b < 60, got.getpixel((40, 50))


def test_a_heic_whose_decoder_leaves_pixels_unwritten_is_the_same_every_time(stack, tools):
    """The fuzzer's find (fixtures/README.md): libde265 silently leaves part of a damaged
    slice unwritten. Uploaded twice, the two conversions must be the same bytes, whatever
    the worker's heap held in between (other images are converted in between to stir it)."""
    data = (Path(__file__).parent / "fixtures" / "heic-damaged-slice.heic").read_bytes()
    outputs = []
    for attempt in range(3):
        r = stack.upload(data, f"damaged-{attempt}.heic", "image/heic")
        if r.status_code != 201:
            tools.json_error(r, 422, "corrupt_image")
            outputs.append(None)
            continue
        obj = r.json()
        # Different content for the worker's heap between the attempts.
        noise = stack.upload_ok(tools.encode(tools.noise(512, 512, seed=attempt), "PNG"), "noise.png", "image/png")
        assert stack.get(f"/images/{noise['id']}.heic").status_code == 200
        converted = stack.get(f"/images/{obj['id']}.png")
        assert converted.status_code == 200, tools.describe(converted)
        outputs.append(tools.decode(converted.content).tobytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_a_jpeg_in_a_profile_of_its_own_curve_shrinks_like_its_pixels(stack, tools):
    """A JPEG shrunk on load (a DCT-scaled decode) had its samples averaged before they were
    converted to sRGB, ours after: for grey with a profile of its own curve, or CMYK, the
    two part. A black-box probe's checker of black and white pixels came out 129.7 at 200 px
    and 188 at 128 px, where the same pixels as a PNG gave 128. Linear grey shows it most."""
    checker = Image.new("L", (256, 256))
    checker.putdata([255 * ((x + y) % 2) for y in range(256) for x in range(256)])
    buffer = io.BytesIO()
    checker.save(buffer, "JPEG", quality=100, subsampling=0, icc_profile=iccprofile.grey_profile(1.0))
    obj = stack.upload_ok(buffer.getvalue(), "linear-grey.jpg", "image/jpeg")
    means = {}
    for width in (200, 128, 64, 32):
        r = stack.get(f"/images/{obj['id']}/resize:{width}x.png")
        assert r.status_code == 200, tools.describe(r)
        grey = tools.decode(r.content).convert("L")
        means[width] = sum(grey.getdata()) / (grey.width * grey.height)
    # Converted first, each pixel is black or white in sRGB, and their average mid-grey;
    # averaged first, linear mid-grey is sRGB 188.
    assert all(abs(mean - means[200]) < 4 for mean in means.values()), means
    assert abs(means[200] - 127.5) < 6, means


def test_a_tiff_strip_inflating_past_its_end_is_the_same_every_time(stack, tools):
    """A black-box probe's damaged 16-bit deflate TIFF (Tests/ProgimageCoreTests/Fixtures/
    README.md): libtiff left the end of its first strip unwritten, and the same URL gave
    other bytes each time its derived file was made again (3 hashes in 4)."""
    from conftest import REPO_ROOT
    data = (REPO_ROOT / "Tests/ProgimageCoreTests/Fixtures/deflate-strip-overrun.tif").read_bytes()
    obj = stack.upload_ok(data, "overrun.tif", "image/tiff")
    outputs = set()
    for attempt in range(4):
        # Other 16-bit TIFF strips through the same role, for different heap contents.
        stir = tools.gradient(240, 136, seed=attempt).convert("RGBA")
        noise = stack.upload_ok(tools.encode(stir, "TIFF", compression="tiff_adobe_deflate"), "stir.tif", "image/tiff")
        assert stack.get(f"/images/{noise['id']}.png").status_code == 200
        shutil.rmtree(stack.cache_dir / obj["id"][:2] / obj["id"][2:4] / obj["id"], ignore_errors=True)
        r = stack.get(f"/images/{obj['id']}.png")
        assert r.status_code == 200, tools.describe(r)
        outputs.add(tools.decode(r.content).tobytes())
    assert len(outputs) == 1


def test_a_profile_whose_curves_evaluate_to_nan_never_stops_the_worker(stack, tools):
    """The fuzzer's find (fixtures/README.md): the convert instance trapped on this file's
    profile. It converts (or is refused) and the same instance answers afterwards."""
    data = (Path(__file__).parent / "fixtures" / "heic-nan-tone-curve.heic").read_bytes()
    r = stack.upload(data, "nan-curve.heic", "image/heic")
    if r.status_code != 201:
        tools.json_error(r, 422, "corrupt_image")
        return
    before = stack.health("convert").json()["pid"]
    converted = stack.get(f"/images/{r.json()['id']}.png")
    assert converted.status_code in (200, 422), tools.describe(converted)
    if converted.status_code == 200:
        assert tools.decode(converted.content).size == (r.json()["width"], r.json()["height"])
    assert stack.health("convert").json()["pid"] == before
