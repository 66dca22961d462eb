"""The OpenAPI document (docs/openapi.yaml, served at /openapi.yaml) against the real stack:
schemathesis generates requests from it (coverage, fuzzing and stateful phases, a fixed
seed, a bounded number of examples) and checks every answer against it — no 5xx, only
documented statuses, content types, headers and schemas, invalid input refused — with no
keys set and with keys and signing on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from conftest import API_KEYS, REPO_ROOT

ST = Path(sys.executable).parent / "st"


def test_the_served_document_is_the_committed_one(stack):
    r = stack.get("/openapi.yaml")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/yaml")
    assert r.text == (REPO_ROOT / "docs" / "openapi.yaml").read_text()
    document = yaml.safe_load(r.text)
    assert document["openapi"].startswith("3.1")
    assert {"/images", "/images/{id}", "/health/{type}"} <= set(document["paths"])


def schemathesis(stack, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ST), "run", f"{stack.base_url}/openapi.yaml", "--url", stack.base_url, "--checks", "all",
         "--exclude-checks", "positive_data_acceptance", "--max-examples", "25", "--seed", "7", "--no-color", *extra],
        capture_output=True, text=True, timeout=600)


def test_schemathesis_finds_nothing_without_keys(stack):
    r = schemathesis(stack)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_schemathesis_finds_nothing_with_keys_and_signing(secure_stack):
    r = schemathesis(secure_stack, "-H", f"Authorization: Bearer {API_KEYS[0]}")
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
