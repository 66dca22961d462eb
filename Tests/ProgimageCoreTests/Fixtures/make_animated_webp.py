"""Writes animated-offset.webp, the fixture of WebPDecoderTests (run once, output committed).

An animated WebP whose first frame is smaller than the canvas and placed at an offset,
which a still-image decoder (libgd 2.3.3) refuses. Pillow encodes each frame as a
lossless still; the container (VP8X, ANIM, ANMF) is assembled here so that the offsets
are exactly these rather than whatever WebPAnimEncoder would choose.

    python3 make_animated_webp.py
"""

import io
import struct

from PIL import Image

CANVAS = (16, 12)
# (colour, left, top, width, height); offsets must be even (ANMF stores them halved).
FRAMES = [((255, 0, 0, 255), 4, 2, 6, 4), ((0, 0, 255, 255), 8, 6, 8, 6)]


def chunk(fourcc: bytes, payload: bytes) -> bytes:
    padding = b"\0" if len(payload) % 2 else b""
    return fourcc + struct.pack("<I", len(payload)) + payload + padding


def le24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


def bitstream(colour, width, height) -> bytes:
    """The VP8L chunk of a lossless still of one colour."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(out, "WEBP", lossless=True)
    data = out.getvalue()
    at = 12
    while at < len(data):
        fourcc, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if fourcc == b"VP8L":
            return data[at : at + 8 + size + (size & 1)]
        at += 8 + size + (size & 1)
    raise SystemExit("Pillow wrote no VP8L chunk")


def main() -> None:
    # Flags: alpha (0x10) and animation (0x02); then canvas width-1, height-1.
    body = chunk(b"VP8X", bytes([0x12, 0, 0, 0]) + le24(CANVAS[0] - 1) + le24(CANVAS[1] - 1))
    body += chunk(b"ANIM", bytes([0, 0, 0, 0]) + struct.pack("<H", 0))  # transparent background, loop forever
    for colour, left, top, width, height in FRAMES:
        header = le24(left // 2) + le24(top // 2) + le24(width - 1) + le24(height - 1) + le24(100)
        header += bytes([0x02])  # do not blend, no disposal
        body += chunk(b"ANMF", header + bitstream(colour, width, height))
    webp = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
    with open("animated-offset.webp", "wb") as f:
        f.write(webp)


if __name__ == "__main__":
    main()
