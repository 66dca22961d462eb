"""Hostile input (issue 6): decompression bombs of every format, polyglots and disguised
documents. Each gets a 4xx JSON answer, nothing is stored, and every instance survives."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from conftest import INSTANCE_TYPES, corpus_dir
from test_errors import _assert_nothing_stored

SIDE = 60000  # 3.6 gigapixels: refused from the header, never allocated


def jpeg_bomb() -> bytes:
    """A real JPEG with its SOF0 dimensions rewritten."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, SIDE, SIDE)
    return bytes(data)


def gif_bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (16, 16), 1).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    struct.pack_into("<HH", data, 6, 65535, 65535)  # logical screen
    return bytes(data)


def webp_bomb() -> bytes:
    """VP8X canvas of 16384×16384 (268 MP) in front of a tiny lossless bitstream."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 255)).save(buf, "WEBP", lossless=True)
    inner = buf.getvalue()[12:]
    side = 16384 - 1
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0, 0, 0, 0]) + side.to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + inner
    return b"RIFF" + struct.pack("<I", len(body)) + body


def bmp_bomb() -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 16, 2835, 2835, 0, 0)
    return header + info + b"\0" * 16


def tiff_bomb() -> bytes:
    entries = [(256, 4, 1, 50000), (257, 4, 1, 50000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 50000), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8 + 16) + b"\0" * 16 + ifd


def heif_bomb(path: str) -> bytes:
    """A real HEIF/AVIF whose primary `ispe` claims 60000×60000."""
    data = bytearray((corpus_dir() / path).read_bytes())
    at = data.index(b"ispe")
    struct.pack_into(">II", data, at + 8, SIDE, SIDE)
    return bytes(data)


BOMBS = {
    "jpg": jpeg_bomb, "gif": gif_bomb, "webp": webp_bomb, "bmp": bmp_bomb, "tiff": tiff_bomb,
    "heic": lambda: heif_bomb("heif/libheif/rainbow-451x461.heic"),
    "avif": lambda: heif_bomb("avif/link-u/fox.profile0.8bpc.yuv420.avif"),
}


@pytest.mark.parametrize("fmt", sorted(BOMBS))
def test_bomb_of_every_format_is_image_too_large(stack, tools, fmt):
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(BOMBS[fmt](), content_type="application/octet-stream", timeout=30)
    tools.json_error(r, 422, "image_too_large")
    _assert_nothing_stored(stack, *before)


def heif_with_primary_ispe(path: str, width: int, height: int) -> bytes:
    """A real HEIF/AVIF whose primary `ispe` says another size than its stream codes."""
    data = bytearray((corpus_dir() / path).read_bytes())
    struct.pack_into(">II", data, data.index(b"ispe") + 8, width, height)
    return bytes(data)


# A 256×192 AVIF grid of four 128×96 tiles (tests/integration/fixtures/README.md), and
# where its grid description (version, flags, rows−1, columns−1, width, height) lies.
GRID = (Path(__file__).parent / "fixtures" / "grid-2x2.avif").read_bytes()
GRID_DESCRIPTION = b"\x00\x00\x01\x01\x01\x00\x00\xc0"


def grid_with_output(width: int, height: int) -> bytes:
    data = bytearray(GRID)
    struct.pack_into(">HH", data, data.index(GRID_DESCRIPTION) + 4, width, height)
    return bytes(data)


@pytest.mark.parametrize("name, body", [
    ("avif-ispe-smaller", lambda: heif_with_primary_ispe("avif/link-u/fox.profile0.8bpc.yuv420.avif", 120, 80)),
    ("heic-ispe-smaller", lambda: heif_with_primary_ispe("heif/libheif/rainbow-451x461.heic", 45, 46)),
    ("heic-ispe-zero", lambda: heif_with_primary_ispe("heif/libheif/rainbow-451x461.heic", 0, 0)),
    ("grid-20000-square", lambda: grid_with_output(20000, 20000)),
    ("grid-uncovered", lambda: grid_with_output(512, 384)),
])
def test_a_heif_coded_other_than_its_container_says_is_refused(stack_factory, tools, name, body):
    """The pixel limit was checked on `ispe` alone, and the decoders allocate what the
    streams code: a 6 KB grid whose `ispe` said 256×192 decoded at 20000×20000 (2.8 GB in
    the api instance), an AVIF with `ispe` cut to a tenth past the limit, and a grid whose
    tiles covered a quarter of its output came out three quarters black (a black-box
    probe; each was a 201). Now each is refused before any decode."""
    stack = stack_factory({"PROGIMAGE_MAX_PIXELS": "1000000"})
    assert stack.upload(GRID, content_type="image/avif").status_code == 201
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(body(), content_type="application/octet-stream", timeout=10)
    tools.json_error(r, 422, "corrupt_image")
    _assert_nothing_stored(stack, *before)


POLYGLOTS = {
    # An HTML page that carries a PNG later on: starts with no image signature.
    "html-then-png": (b"<html><script>alert(1)</script>" + b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 415),
    # A PNG signature with a script where the chunks should be.
    "png-then-script": (b"\x89PNG\r\n\x1a\n<script>alert(1)</script>" + b"\0" * 64, 422),
    # A GIF header whose body is JavaScript (the classic GIFAR/GIF-JS trick).
    "gif-js": (b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=alert(1);", 422),
    # A JPEG SOI followed by a PDF.
    "jpeg-pdf": (b"\xff\xd8\xff\xe0%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", 422),
    # A ZIP (docx, jar) named as an image.
    "zip": (b"PK\x03\x04" + b"\0" * 60, 415),
}


@pytest.mark.parametrize("name", sorted(POLYGLOTS))
def test_polyglots_are_refused(stack, tools, name):
    body, status = POLYGLOTS[name]
    before = (stack.newest_id(), stack.data_files_except_db())
    r = stack.upload(body, content_type="image/png", filename=f"{name}.png")
    tools.json_error(r, status)
    _assert_nothing_stored(stack, *before)


def _tiff(entries: list[tuple[int, int, int, int | bytes]], data: bytes) -> bytes:
    """A little-endian TIFF of one IFD: (tag, type, count, value or the bytes it points to),
    then `data`, which an entry of value -1 points to."""
    ifd_size = 2 + 12 * len(entries) + 4
    at = 8 + ifd_size
    extra = b""
    fields = []
    for tag, kind, count, value in sorted(entries):
        if isinstance(value, bytes):
            fields.append((tag, kind, count, struct.pack("<I", at + len(extra))))
            extra += value
        else:
            fields.append((tag, kind, count, struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)))
    data_at = at + len(extra)
    out = b"II*\x00" + struct.pack("<IH", 8, len(fields))
    for tag, kind, count, field in fields:
        if field == struct.pack("<I", 0xFFFFFFFF):
            field = struct.pack("<I", data_at)
        out += struct.pack("<HHI", tag, kind, count) + field
    return out + struct.pack("<I", 0) + extra + data


def test_a_tiff_declaring_a_huge_tile_is_refused_without_allocating_it(stack, tools):
    """A 16×16 RGBA TIFF (unassociated alpha, 16-bit) whose header declares one 16384²
    tile: 183 bytes that made the as-stored reader allocate 2 GB, and fill it while glibc's
    heap pattern was on for the whole process (a review measured 2.13 GB resident). The
    tile may not outgrow the image past a bound; the api worker's peak stays where it was."""
    body = _tiff([(256, 3, 1, 16), (257, 3, 1, 16), (258, 3, 4, struct.pack("<4H", 16, 16, 16, 16)),
                  (259, 3, 1, 1), (262, 3, 1, 2), (277, 3, 1, 4), (284, 3, 1, 1), (322, 4, 1, 16384),
                  (323, 4, 1, 16384), (324, 4, 1, 0xFFFFFFFF), (325, 4, 1, 17), (338, 3, 1, 2)], bytes(17))
    pid = stack.health("api").json()["pid"]

    def peak_kb() -> int:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])

    before = peak_kb()
    r = stack.upload(body, content_type="image/tiff", filename="tile.tif")
    tools.json_error(r, 422)
    assert stack.health("api").json()["pid"] == pid
    assert peak_kb() - before < 256 * 1024, f"the api worker's peak grew {(peak_kb() - before) // 1024} MB"


def _many_page_tiff(pages: int, side: int = 1) -> bytes:
    """A little-endian TIFF of `pages` uncompressed grey pages of side × side, each
    directory followed by its pixels (Pillow takes a minute to write 10,000 pages)."""
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for page in range(pages):
        pixels_at = len(out) + 2 + 8 * 12 + 4
        following = 0 if page == pages - 1 else pixels_at + side * side
        out += struct.pack("<H", 8)
        for tag, kind, value in [(256, 3, side), (257, 3, side), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                                 (273, 4, pixels_at), (278, 3, side), (279, 4, side * side)]:
            out += struct.pack("<HHII", tag, kind, 1, value)
        out += struct.pack("<I", following) + bytes([40 * page % 256]) * (side * side)
    return bytes(out)


@pytest.mark.parametrize("cut", ["second directory", "third page's pixels"])
def test_a_multi_page_tiff_cut_short_after_its_first_page_is_refused(stack, tools, cut):
    """Outputs show a TIFF's first page, and a file cut after it decoded that page whole:
    it was stored (201), and its original URL served the truncated file. Every later
    page's directory is read at upload, and its strips must lie inside the file."""
    whole = _many_page_tiff(3, side=4)
    body = whole[:180] if cut == "second directory" else whole[:-1]
    before_newest, before_files = stack.newest_id(), stack.data_files_except_db()
    r = stack.upload(body, content_type="image/tiff", filename="cut.tif")
    tools.json_error(r, 422, "corrupt_image")
    assert "page " in r.json()["error"]["message"]
    _assert_nothing_stored(stack, before_newest, before_files)
    obj = stack.upload_ok(whole, "whole.tif", "image/tiff")
    assert (obj["width"], obj["height"], obj["frames"]) == (4, 4, 1)
    assert stack.get(obj["url"]).content == whole


def _jpeg_tiff(tiled: bool) -> tuple[bytes, int]:
    """A 200×150 gradient, JPEG-compressed (Pillow, libtiff), and where its first strip's or
    tile's byte count lies."""
    image = Image.new("RGB", (200, 150))
    image.putdata([(x * 255 // 200, y * 255 // 150, 128) for y in range(150) for x in range(200)])
    out = io.BytesIO()
    image.save(out, "TIFF", compression="jpeg", **({"tile": (64, 64)} if tiled else {}))
    data = bytearray(out.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for index in range(struct.unpack_from("<H", data, ifd)[0]):
        tag, _, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * index)
        if tag in (279, 325):  # StripByteCounts, TileByteCounts
            return bytes(data), ifd + 2 + 12 * index + 8 if count == 1 else value
    raise AssertionError("no byte counts")


@pytest.mark.parametrize("tiled", [False, True], ids=["strips", "tiles"])
def test_a_jpeg_tiff_that_loses_data_is_refused_as_a_jpeg_is(stack, tools, tiled):
    """libjpeg, inside libtiff, fills what it cannot decode with flat grey and only warns
    ("Premature end of JPEG file", "bad Huffman code"): a JPEG-compressed TIFF whose first
    strip was cut in half was stored with grey rows (a black-box probe), where the same
    damage in a JPEG file is a 422."""
    whole, at = _jpeg_tiff(tiled)
    assert stack.upload_ok(whole, "whole.tif", "image/tiff")["width"] == 200
    damaged = bytearray(whole)
    struct.pack_into("<I", damaged, at, struct.unpack_from("<I", damaged, at)[0] // 3)
    before_newest, before_files = stack.newest_id(), stack.data_files_except_db()
    tools.json_error(stack.upload(bytes(damaged), content_type="image/tiff"), 422, "corrupt_image")
    _assert_nothing_stored(stack, before_newest, before_files)


def test_a_jpeg_tiff_wider_than_its_strips_is_refused(stack, tools):
    """libtiff only warns when a JPEG strip codes fewer pixels than its place in the page
    ("Improper JPEG strip/tile size") and leaves the rest unwritten: the corpus file with
    its ImageWidth raised from 512 was stored with black columns (a black-box tester)."""
    data = bytearray((corpus_dir() / "tiff/libtiffpic/quad-jpeg.tif").read_bytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    for index in range(struct.unpack_from(order + "H", data, ifd)[0]):
        at = ifd + 2 + 12 * index
        tag, kind = struct.unpack_from(order + "HH", data, at)
        if tag == 256:
            width_at, width_format = at + 8, order + ("H" if kind == 3 else "I")
    assert stack.upload_ok(bytes(data), "quad.tif", "image/tiff")["width"] == 512
    for width in (600, 1024):
        struct.pack_into(width_format, data, width_at, width)
        before_newest, before_files = stack.newest_id(), stack.data_files_except_db()
        tools.json_error(stack.upload(bytes(data), content_type="image/tiff"), 422, "corrupt_image")
        _assert_nothing_stored(stack, before_newest, before_files)


def test_the_corpus_multi_page_tiff_cut_after_its_first_page_is_refused(stack, tools):
    data = (corpus_dir() / "tiff/image-tiff-seq/seq-1c-8b-multipage-adeefdcc.tiff").read_bytes()
    for end in (631, 900, 1135, len(data) - 1):
        tools.json_error(stack.upload(data[:end], content_type="image/tiff"), 422, "corrupt_image")
    assert stack.upload_ok(data, "pages.tif", "image/tiff")["frames"] == 1


def test_a_tiff_of_more_pages_than_the_limit_is_refused_at_once(stack, tools):
    """Each later page's directory is read, ~6 µs apiece: 10,000 pages are an image, one
    more is `image_too_large`; and pages naming the same million-strip arrays (a few KB
    of directories, a million checks each) are refused once they name more strips than
    the file could hold."""
    import time
    assert stack.upload_ok(_many_page_tiff(10_000), "many.tif", "image/tiff")["frames"] == 1
    r = stack.upload(_many_page_tiff(10_001), content_type="image/tiff")
    tools.json_error(r, 422, "image_too_large")
    assert "10000 pages" in r.json()["error"]["message"]
    strips = 1_000_000
    arrays = struct.pack(f"<{strips}I", *([8] * strips)) + struct.pack(f"<{strips}I", *([1] * strips))
    out = bytearray(b"II*\x00" + struct.pack("<I", 0) + bytes(8) + arrays)
    out[4:8] = struct.pack("<I", len(out))
    for page in range(2000):
        following = 0 if page == 1999 else len(out) + 2 + 8 * 12 + 4
        out += struct.pack("<H", 8)
        for tag, kind, count, value in [(256, 3, 1, 1), (257, 4, 1, strips), (258, 3, 1, 8), (259, 3, 1, 1),
                                        (262, 3, 1, 1), (273, 4, strips, 16), (278, 3, 1, 1),
                                        (279, 4, strips, 16 + 4 * strips)]:
            out += struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", following)
    started = time.monotonic()
    r = stack.upload(bytes(out), content_type="image/tiff")
    tools.json_error(r, 422, "corrupt_image")
    assert "more strips than the file holds" in r.json()["error"]["message"]
    assert time.monotonic() - started < 5


def test_every_instance_survives_hostile_input(stack):
    for kind in INSTANCE_TYPES:
        r = stack.get(f"/health/{kind}")
        assert r.status_code == 200, f"{kind} instance is down after hostile input"


def _progressive_jpeg_with_repeated_scans(side: int, extra: int) -> bytes:
    """Pillow's progressive JPEG of a flat grey square with its last (AC refinement) scan
    repeated `extra` times: libjpeg decodes each repeat over the whole image again."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    at, segments = 2, []
    while data[at + 1] != 0xD9:
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        end = at + 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not RSTn or a stuffed 0
            while not (data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        segments.append((marker, data[at:end]))
        at = end
    last_scan = max(i for i, (marker, _) in enumerate(segments) if marker == 0xDA)
    unit = segments[last_scan][1]
    if segments[last_scan - 1][0] == 0xC4:  # its Huffman table
        unit = segments[last_scan - 1][1] + unit
    return b"\xff\xd8" + b"".join(s for _, s in segments) + unit * extra + b"\xff\xd9"


def test_a_jpeg_with_more_scans_than_any_encoder_writes_is_refused(stack, tools):
    """A black-box tester's 514-KB 4096² JPEG repeating one scan 8,000 times took 91
    CPU-seconds to upload and as long for every derived URL. Past 100 scans (encoders write
    about ten) a JPEG is refused; within them it is an image like any other."""
    import time
    within = _progressive_jpeg_with_repeated_scans(512, 80)
    obj = stack.upload_ok(within, "eighty.jpg", "image/jpeg")
    assert stack.get(f"/images/{obj['id']}/resize:64x.png").status_code == 200
    started = time.monotonic()
    r = stack.upload(_progressive_jpeg_with_repeated_scans(512, 2000), "bomb.jpg", "image/jpeg")
    tools.json_error(r, 422, "corrupt_image")
    assert "more than 100 scans" in r.json()["error"]["message"]
    assert time.monotonic() - started < 10


def _png_whose_data_runs_on(colour_type: int, extra: int) -> bytes:
    """A 1×1 PNG (grey, or RGBA) whose one zlib stream holds `extra` zero bytes after its row."""
    channels = {0: 1, 6: 4}[colour_type]
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    compressor = zlib.compressobj(9)
    data = compressor.compress(b"\x00" + bytes([200]) * channels)
    block = bytes(1 << 20)
    for _ in range(extra >> 20):
        data += compressor.compress(block)
    data += compressor.compress(bytes(extra & ((1 << 20) - 1))) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.mark.parametrize("colour_type", [0, 6], ids=["grey", "rgba"])
def test_a_png_whose_image_data_runs_on_past_the_image_is_refused(stack, tools, colour_type):
    """libpng inflates whatever image data follows the last row, only to warn about it: a
    1×1 PNG whose data ran on to 1 GiB of zeros (1 MB deflated) took seconds at every upload
    and render, 35 s for an 8 MB file (a black-box tester). More than 64 KB of data past the
    image is refused; a few stray bytes, as some encoders leave, are not."""
    import time
    small = stack.upload_ok(_png_whose_data_runs_on(colour_type, 1000), "stray.png", "image/png")
    assert (small["width"], small["height"]) == (1, 1)
    im = Image.open(io.BytesIO(stack.get(f"/images/{small['id']}.png").content))
    assert im.convert("L").getpixel((0, 0)) == 200
    bomb = _png_whose_data_runs_on(colour_type, 256 << 20)
    assert len(bomb) < 300_000
    before_newest, before_files = stack.newest_id(), stack.data_files_except_db()
    started = time.monotonic()
    tools.json_error(stack.upload(bomb, "bomb.png", "image/png"), 422, "corrupt_image")
    assert time.monotonic() - started < 2
    _assert_nothing_stored(stack, before_newest, before_files)


@pytest.mark.pixels_only
def test_an_avif_with_damaged_tile_data_is_refused_as_the_reference_decoder_refuses_it(stack, tools):
    """libheif 1.15's dav1d plugin decoded AVIFs with bytes flipped in their tile data
    without a word, and blocky garbage was stored and served (8 of 8 in a black-box probe).
    libvips here decodes AV1 with libaom, the reference decoder: what it refuses, the
    upload refuses (422), and what it accepts (a flip in a spot the stream does not check)
    the service accepts too, with the same size."""
    import pyvips

    buf = io.BytesIO()
    Image.blend(tools.gradient(600, 400, seed=7), tools.noise(600, 400, seed=7), 0.25).save(buf, "AVIF", quality=60)
    clean = buf.getvalue()
    refused = 0
    for fraction in (0.55, 0.65, 0.75, 0.85, 0.95):
        damaged = bytearray(clean)
        damaged[int(len(clean) * fraction)] ^= 0x10
        try:
            reference = pyvips.Image.new_from_buffer(bytes(damaged), "", access="sequential")
            reference.avg()
        except pyvips.Error:
            reference = None
        r = stack.upload(bytes(damaged), "damaged.avif", "image/avif")
        if reference is None:
            refused += 1
            tools.json_error(r, 422, "corrupt_image")
        else:
            assert r.status_code == 201, tools.describe(r)
            assert (r.json()["width"], r.json()["height"]) == (reference.width, reference.height)
    assert refused >= 3, f"only {refused} of 5 flips damaged the stream for libaom: the test shows little"
