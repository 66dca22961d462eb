#!/usr/bin/env bash
# The load harness on demand: a fresh stack (private data, cache and run directories on a
# free loopback port), then bench/load/load.py's mixed run against it (60 s, 32 connections;
# LOAD_SECONDS, LOAD_CONNECTIONS to change), then everything stopped.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TMP="$(mktemp -d /tmp/progimage-load-XXXXXX)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PROGIMAGE_PORT=$PORT PROGIMAGE_DATA_DIR="$TMP/data" PROGIMAGE_CACHE_DIR="$TMP/cache" PROGIMAGE_RUN_DIR="$TMP/run" \
    setsid "$REPO/.build/release/progimage-dev" run > "$TMP/stack.log" 2>&1 &
PGID=$!
trap 'kill -TERM -- -$PGID 2>/dev/null; wait $PGID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/api" && break; sleep 0.2; done
"$REPO/.venv/test/bin/python" "$REPO/bench/load/load.py" "http://127.0.0.1:$PORT" \
    --seconds "${LOAD_SECONDS:-60}" --connections "${LOAD_CONNECTIONS:-32}" | head -n 12
