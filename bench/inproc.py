"""In-process baselines: the thumbnail progimage makes for resize:800x/quality:80.jpg
(12 MP JPEG -> 800 px wide JPEG q80), made by a library inside this Python process.

    python inproc.py vips   FILE.jpg ITERATIONS   # libvips via pyvips
    python inproc.py pillow FILE.jpg ITERATIONS   # Pillow, as thumbor's PIL engine does it
    python inproc.py peak FILE .FMT 'OPTIONS'     # libvips: the memory of one conversion

vips:   pyvips.Image.thumbnail_buffer(data, 800).write_to_buffer(".jpg", Q=80), with libvips'
        operation cache off (otherwise every call after the first is answered from it).
pillow: Image.open, draft(None, size) (libjpeg DCT scaling), resize(size, LANCZOS),
        save(quality=80, optimize=True, progressive=True): thumbor 7's defaults
        (PIL engine, PILLOW_RESAMPLING_FILTER LANCZOS, PROGRESSIVE_JPEG True).
Prints one JSON object: median/min wall ms and process CPU ms per thumbnail (user + system
of every thread, from getrusage), the output size, the library version.

peak:   new_from_buffer(data, "", access="sequential").write_to_buffer(FMT, **OPTIONS), once,
        in a fresh process; prints the resident memory it added at its peak (VmHWM, reset
        through /proc/self/clear_refs after pyvips is loaded and the file read, less VmRSS
        then), as section 6c's conversions call it.
"""

import io
import json
import resource
import statistics
import sys
import time


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def resident_mb(key: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak(path: str, fmt: str, options: dict) -> None:
    import pyvips

    pyvips.cache_set_max(0)
    with open(path, "rb") as f:
        data = f.read()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = resident_mb("VmRSS")
    out = pyvips.Image.new_from_buffer(data, "", access="sequential").write_to_buffer(fmt, **options)
    print(json.dumps({"peak_added_mb": resident_mb("VmHWM") - before, "out_bytes": len(out)}))


def main() -> None:
    if sys.argv[1] == "peak":
        return peak(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    lib, path, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    width, quality = 800, 80
    with open(path, "rb") as f:
        data = f.read()
    extra = {}

    if lib == "vips":
        import pyvips

        pyvips.cache_set_max(0)
        version = f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
        extra["threads"] = pyvips.vips_lib.vips_concurrency_get()

        def thumbnail() -> bytes:
            return pyvips.Image.thumbnail_buffer(data, width).write_to_buffer(".jpg", Q=quality)
    else:
        import PIL
        from PIL import Image

        version = f"Pillow {PIL.__version__}"
        extra["threads"] = 1

        def thumbnail() -> bytes:
            im = Image.open(io.BytesIO(data))
            size = (width, round(im.height * width / im.width))
            im.draft(None, size)
            im = im.resize(size, Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
            return buf.getvalue()

    for _ in range(2):
        out = thumbnail()
    walls = []
    cpu0 = cpu_seconds()
    for _ in range(iterations):
        t0 = time.perf_counter()
        out = thumbnail()
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = (cpu_seconds() - cpu0) * 1000 / iterations
    print(json.dumps({
        "wall_median_ms": statistics.median(walls),
        "wall_min_ms": min(walls),
        "cpu_ms": cpu,
        "out_bytes": len(out),
        "version": version,
        **extra,
    }))


if __name__ == "__main__":
    main()
