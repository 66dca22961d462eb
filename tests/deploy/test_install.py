"""`make install` puts exactly the expected files in place, `make uninstall` takes them
away again, and an administrator's env file survives both."""

from __future__ import annotations

import re
import shutil
import subprocess

from deploytools import ENV_FILE, PREFIX, REPO_ROOT, SITE, UNIT_DIR, files_under, make

EXPECTED = {
    f"{PREFIX}/bin/progimage-fcgi": 0o755,
    f"{UNIT_DIR}/progimage@.service": 0o644,
    f"{UNIT_DIR}/progimage@.socket": 0o644,
    f"{UNIT_DIR}/progimage@api.service.d/network.conf": 0o644,
    f"{UNIT_DIR}/progimage.target": 0o644,
    f"{UNIT_DIR}/progimage-prune.service": 0o644,
    f"{UNIT_DIR}/progimage-prune.timer": 0o644,
    f"{PREFIX}/lib/sysusers.d/progimage.conf": 0o644,
    SITE: 0o644,
    ENV_FILE: 0o640,
}


def test_install_tree(installed):
    found = files_under(installed.root)
    print("installed:\n  " + "\n  ".join(sorted(found)))
    assert found == set(EXPECTED)
    for path, mode in EXPECTED.items():
        assert (installed.root / path.lstrip("/")).stat().st_mode & 0o7777 == mode, path
    assert installed.env_file.read_text() == (REPO_ROOT / "systemd/progimage.env").read_text()
    for unit in ["progimage@.service", "progimage-prune.service"]:
        execs = re.findall(r"^ExecStart=(\S+)", (installed.unit_dir / unit).read_text(), re.M)
        assert execs == [f"{PREFIX}/bin/progimage-fcgi"], unit


def test_installed_binary_needs_no_swift_toolchain(installed):
    """Linked with --static-swift-stdlib: a host with only Debian's libraries runs it."""
    libraries = subprocess.run(["ldd", str(installed.binary)], capture_output=True, text=True, check=True).stdout
    assert "libswift" not in libraries and "not found" not in libraries, libraries
    usage = subprocess.run([str(installed.binary), "prune", "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--max-bytes" in usage.stdout


def test_site_is_the_production_site(installed):
    site = installed.site.read_text()
    assert "listen 80;" in site
    assert "server unix:/run/progimage/api.sock;" in site
    assert "/var/lib/progimage/originals/" in site and "/var/cache/progimage/" in site
    assert "client_max_body_size 53477376;" in site  # default upload limit + 1 MiB


def test_prefix_moves_the_binary_and_the_units(installed, scratch_root):
    root = scratch_root
    make("install", f"DESTDIR={root}", "PREFIX=/opt/progimage")
    unit = root / "opt/progimage/lib/systemd/system/progimage@.service"
    assert "ExecStart=/opt/progimage/bin/progimage-fcgi" in unit.read_text()
    assert (root / "opt/progimage/bin/progimage-fcgi").is_file()
    assert (root / ENV_FILE.lstrip("/")).is_file() and (root / SITE.lstrip("/")).is_file()


def test_uninstall_removes_exactly_what_install_put_there(installed, scratch_root):
    root = scratch_root
    shutil.copytree(installed.root, root, dirs_exist_ok=True)
    unrelated = [root / "etc/nginx/sites-available/default", root / "usr/local/bin/other-tool",
                 root / "var/lib/progimage/progimage.sqlite3"]
    for path in unrelated:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not progimage's to remove\n")
    make("uninstall", f"DESTDIR={root}")
    assert files_under(root) == {"/" + str(p.relative_to(root)) for p in unrelated}
    assert not (root / "etc/progimage").exists()
    assert not (root / UNIT_DIR.lstrip("/") / "progimage@api.service.d").exists()


def test_an_edited_env_file_survives_reinstall_and_uninstall(installed, scratch_root):
    root = scratch_root
    shutil.copytree(installed.root, root, dirs_exist_ok=True)
    env = root / ENV_FILE.lstrip("/")
    edited = env.read_text() + "PROGIMAGE_API_KEY=k1\nPROGIMAGE_MAX_UPLOAD_BYTES=1000000\n"
    env.write_text(edited)
    out = make("install", f"DESTDIR={root}").stdout
    assert "keeping" in out
    assert env.read_text() == edited
    # The site follows the administrator's upload limit.
    assert f"client_max_body_size {1000000 + 1048576};" in (root / SITE.lstrip("/")).read_text()
    make("uninstall", f"DESTDIR={root}")
    assert files_under(root) == {ENV_FILE}
    assert env.read_text() == edited


def test_env_file_documents_every_setting_commented_out(installed):
    """Each PROGIMAGE_* variable the service reads appears as `#NAME=default`, nothing is
    set: the defaults live in ServiceConfiguration, not in two places."""
    text = installed.env_file.read_text()
    active = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert active == []
    documented = set(re.findall(r"^#(PROGIMAGE_[A-Z0-9_]+)=", text, re.M))
    read = set()
    # Not the service's: the development supervisor's own knobs, and the clients' (the CLI
    # reads PROGIMAGE_URL, the server to talk to).
    not_the_service = {"progimage-dev", "progimage", "ProgimageClient"}
    for source in (REPO_ROOT / "Sources").rglob("*.swift"):
        if source.relative_to(REPO_ROOT / "Sources").parts[0] not in not_the_service:
            read |= set(re.findall(r'"(PROGIMAGE_[A-Z0-9_]+)"', source.read_text()))
    assert read - documented == set(), "undocumented in systemd/progimage.env"
    assert documented - read == set(), "documented but read by nothing"


def test_env_file_defaults_match_the_readme(installed):
    readme = (REPO_ROOT / "README.md").read_text()
    table = dict(re.findall(r"^\| `(PROGIMAGE_[A-Z_]+)` \| `([^`]*)` \|", readme, re.M))
    for name, value in re.findall(r"^#(PROGIMAGE_[A-Z0-9_]+)=(\S*)$", installed.env_file.read_text(), re.M):
        if name in table and value and name not in ("PROGIMAGE_DATA_DIR", "PROGIMAGE_CACHE_DIR"):
            assert table[name] == value, name
