"""A matrix/TRC ICC v4 display profile written from chromaticities, for colour tests.

Display P3 has no profile in Debian's packages and Pillow can only make sRGB, so the
tests write one from the published primaries (SMPTE EG 432-1, D65 white, sRGB curve)
and hand it to LittleCMS through Pillow's ImageCms: the reference the service is held to.
"""

import struct

SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)  # ICC parametric type 3
D50 = (0.9642, 1.0, 0.8249)
DISPLAY_P3 = {"red": (0.680, 0.320), "green": (0.265, 0.690), "blue": (0.150, 0.060), "white": (0.3127, 0.3290)}


def _mul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [[(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det]]


def _xyz(x, y):
    return [x / y, 1.0, (1 - x - y) / y]


def rgb_to_d50_xyz(primaries):
    """The RGB→XYZ matrix for the primaries, Bradford-adapted to D50 as ICC requires."""
    cols = [_xyz(*primaries[c]) for c in ("red", "green", "blue")]
    p = [[cols[j][i] for j in range(3)] for i in range(3)]
    white = _xyz(*primaries["white"])
    s = [sum(_inv(p)[i][k] * white[k] for k in range(3)) for i in range(3)]
    m = [[p[i][j] * s[j] for j in range(3)] for i in range(3)]
    bradford = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
    src = [sum(bradford[i][k] * white[k] for k in range(3)) for i in range(3)]
    dst = [sum(bradford[i][k] * D50[k] for k in range(3)) for i in range(3)]
    scale = [[dst[i] / src[i] if i == j else 0.0 for j in range(3)] for i in range(3)]
    adapt = _mul(_inv(bradford), _mul(scale, bradford))
    return _mul(adapt, m), adapt


def _s15(v):
    return struct.pack(">i", round(v * 65536))


def _mluc(text):
    utf16 = text.encode("utf-16-be")
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(utf16), 28) + utf16


def _xyz_tag(v):
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(c) for c in v)


def _para(curve):
    return b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(_s15(c) for c in curve)


def matrix_profile(primaries=DISPLAY_P3, curve=SRGB_CURVE, description="Display P3 (test)") -> bytes:
    m, adapt = rgb_to_d50_xyz(primaries)
    trc = _para(curve)
    tags = [
        (b"desc", _mluc(description)),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50)),
        (b"rXYZ", _xyz_tag([m[i][0] for i in range(3)])),
        (b"gXYZ", _xyz_tag([m[i][1] for i in range(3)])),
        (b"bXYZ", _xyz_tag([m[i][2] for i in range(3)])),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
        (b"chad", b"sf32" + b"\0" * 4 + b"".join(_s15(adapt[i][j]) for i in range(3) for j in range(3))),
    ]
    return _display_profile(b"RGB ", tags)


def _display_profile(colour_space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v4 display profile (PCS XYZ, D50) of `colour_space` holding `tags`."""
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x04300000) + b"mntr" + colour_space + b"XYZ "
              + struct.pack(">6H", 2026, 12, 4, 0, 0, 0) + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
              + struct.pack(">I", 0) + b"".join(_s15(c) for c in D50) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + body


def grey_profile(gamma: float = 1.0, description="Grey, linear (test)") -> bytes:
    """A GRAY display profile whose curve is `gamma` (1.0: linear light), D50 white."""
    return _display_profile(b"GRAY", [
        (b"desc", _mluc(description)),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50)),
        (b"kTRC", b"para" + b"\0" * 4 + struct.pack(">HH", 0, 0) + _s15(gamma)),
    ])
