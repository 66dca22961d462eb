"""TIFF files neither pyvips nor Pillow writes: each sample in a plane of its own
(PlanarConfig 2, one uncompressed strip a plane), 8 or 16 bits, either byte order."""

import struct


def planar_tiff(planes: list[list[int]], width: int, height: int, *, bits: int = 8, big_endian: bool = False,
                photometric: int = 2, extra_samples: tuple[int, ...] = (2,), icc_profile: bytes | None = None) -> bytes:
    """`planes`: one list of samples a plane, rows top to bottom. `photometric` 2 is RGB
    (with `extra_samples` (2,): unassociated alpha), 5 CMYK inks (ink set 1 by default)."""
    order = ">" if big_endian else "<"
    sample = "B" if bits == 8 else "H"
    count = len(planes)
    data = [struct.pack(f"{order}{len(plane)}{sample}", *plane) for plane in planes]
    icc = icc_profile or b""
    # (tag, type, count, inline value or None for an array placed after the directory)
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, count, None), (259, 3, 1, 1),
               (262, 3, 1, photometric), (273, 4, count, None), (277, 3, 1, count), (278, 4, 1, height),
               (279, 4, count, None), (284, 3, 1, 2)]
    if extra_samples:
        entries.append((338, 3, len(extra_samples), extra_samples[0] if len(extra_samples) == 1 else None))
        assert len(extra_samples) == 1
    if icc:
        entries.append((34675, 7, len(icc), None))
    ifd_size = 2 + 12 * len(entries) + 4
    arrays_at = 8 + ifd_size
    bits_array = struct.pack(f"{order}{count}H", *([bits] * count))
    offsets_at = arrays_at + len(bits_array)
    counts_at = offsets_at + 4 * count
    icc_at = counts_at + 4 * count
    data_at = icc_at + len(icc) + (len(icc) & 1)
    arrays = {258: bits_array,
              273: struct.pack(f"{order}{count}I", *(data_at + sum(map(len, data[:i])) for i in range(count))),
              279: struct.pack(f"{order}{count}I", *map(len, data)),
              34675: icc + b"\0" * (len(icc) & 1)}
    where = {258: arrays_at, 273: offsets_at, 279: counts_at, 34675: icc_at}
    out = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(f"{order}I", 8)
    out += struct.pack(f"{order}H", len(entries))
    for tag, kind, n, value in entries:
        if value is None:
            field = struct.pack(f"{order}I", where[tag])
        elif kind == 3:
            field = struct.pack(f"{order}HH", value, 0)
        else:
            field = struct.pack(f"{order}I", value)
        out += struct.pack(f"{order}HHI", tag, kind, n) + field
    out += struct.pack(f"{order}I", 0) + arrays[258] + arrays[273] + arrays[279] + (arrays[34675] if icc else b"")
    assert len(out) == data_at
    return out + b"".join(data)
