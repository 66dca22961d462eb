"""The systemd units as installed: they verify, their sandbox scores, and they agree with
the code (every role of TransformRole.all, the socket paths and directories of the
production nginx site)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path


from deploytools import SECURITY_SCORES, make, private_directory
from unitfile import Unit

MAX_EXPOSURE = 2.0


def unit_names(roles: list[str]) -> list[str]:
    names = []
    for role in roles:
        names += [f"progimage@{role}.socket", f"progimage@{role}.service"]
    return names + ["progimage.target", "progimage-prune.service", "progimage-prune.timer", "progimage-check.service",
                    "progimage-check.timer", "progimage-replay-deletes.service"]


def analyze(*arguments: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", *arguments, f"--root={root}"], capture_output=True, text=True,
                          cwd="/", timeout=120)


def verify_problems(names: list[str], root: Path) -> list[str]:
    """`systemd-analyze verify` is silent for good units; an unknown key is only a warning
    (exit 0), so any output counts as a problem too."""
    problems = []
    for name in names:
        result = analyze("verify", name, root=root)
        if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
            problems.append(f"{name}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return problems


def test_every_unit_verifies(installed, verify_root):
    problems = verify_problems(unit_names(installed.roles()), verify_root)
    assert not problems, "\n".join(problems)


def test_sandbox_exposure_of_every_service(installed, verify_root):
    problems = []
    maintenance = ["progimage-prune.service", "progimage-check.service", "progimage-replay-deletes.service"]
    for name in [f"progimage@{role}.service" for role in installed.roles()] + maintenance:
        result = analyze("security", "--offline=true", name, root=verify_root)
        found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        assert found, f"{name}: no score\n{result.stdout}{result.stderr}"
        score = float(found.group(1))
        SECURITY_SCORES[name] = score
        if score > MAX_EXPOSURE:
            weak = [line for line in result.stdout.splitlines() if line.startswith("✗")]
            problems.append(f"{name}: {score} > {MAX_EXPOSURE}\n  " + "\n  ".join(weak))
    assert not problems, "\n".join(problems)


def test_target_wants_every_role(installed):
    target = Unit("progimage.target", [installed.unit_dir], installed.root)
    wanted = target.words("Unit", "Wants")
    expected = [f"progimage@{role}.{kind}" for role in installed.roles() for kind in ("socket", "service")]
    assert sorted(w for w in wanted if w.startswith("progimage@")) == sorted(expected)
    assert "progimage-prune.timer" in wanted and "progimage-check.timer" in wanted
    assert "progimage-replay-deletes.service" in wanted
    assert target.get("Install", "WantedBy") == "multi-user.target"


def test_deletes_missed_while_down_are_replayed_before_nginx_serves_the_disk(installed):
    """nginx serves whatever is on disk: at boot the replay must have run first (ordering
    only, so nginx starts whatever it found), once per start of the box."""
    unit = Unit("progimage-replay-deletes.service", [installed.unit_dir], installed.root)
    assert "nginx.service" in unit.words("Unit", "Before")
    assert unit.get("Service", "Type") == "oneshot" and unit.flag("Service", "RemainAfterExit")
    assert unit.get("Service", "ExecStart").split()[1:] == ["replay-deletes"]
    # The same data as the roles, the same environment file.
    role = Unit("progimage@api.service", [installed.unit_dir], installed.root)
    assert unit.all("Service", "Environment") == [e for e in role.all("Service", "Environment")
                                                  if e.startswith(("PROGIMAGE_DATA_DIR=", "PROGIMAGE_CACHE_DIR="))]
    assert unit.get("Service", "EnvironmentFile") == role.get("Service", "EnvironmentFile")


def test_sockets_are_where_nginx_connects(installed):
    site = installed.site.read_text()
    for role in installed.roles():
        socket = Unit(f"progimage@{role}.socket", [installed.unit_dir], Path("/"))
        path = socket.get("Socket", "ListenStream")
        assert f"upstream progimage_{role} {{\n    server unix:{path};" in site
        assert socket.get("Socket", "Accept") == "no"
        # nginx runs as www-data on Debian and must be able to connect.
        assert socket.get("Socket", "SocketGroup") == "www-data" and socket.get("Socket", "SocketMode") == "0660"


def test_services_serve_the_directories_nginx_reads(installed):
    site = installed.site.read_text()
    for role in installed.roles():
        service = Unit(f"progimage@{role}.service", [installed.unit_dir], Path("/"))
        env = {}
        for value in service.all("Service", "Environment"):
            key, _, val = value.partition("=")
            env[key] = val
        assert env["TRANSFORM_TYPE"] == role
        # Secure by default: without an API key in the env file, writes are refused.
        assert env["PROGIMAGE_OPEN_WRITES"] == "0"
        # originals, then a conversion in the cache; a transform is a cache file by alias
        data, cache = re.escape(env["PROGIMAGE_DATA_DIR"]), re.escape(env["PROGIMAGE_CACHE_DIR"])
        assert re.search(rf"try_files {data}/originals/\S+\s+{cache}/\S+\s+@miss;", site)
        assert f"alias {env['PROGIMAGE_CACHE_DIR']}/" in site
        assert service.get("Service", "StandardInput") == "socket"
        assert service.get("Service", "EnvironmentFile") == "/etc/progimage/progimage.env"
        # A recycled worker exits 0 and must come back; exit 2 is a configuration error.
        assert service.get("Service", "Restart") == "always"
        assert service.get("Service", "RestartPreventExitStatus") == "2"
        assert service.get("Unit", "StartLimitIntervalSec") == "0"
        # stdout would otherwise go to the socket (StandardInput=socket).
        assert service.get("Service", "StandardOutput") == "journal"


def test_only_the_api_role_reaches_the_network(installed):
    for role in installed.roles():
        service = Unit(f"progimage@{role}.service", [installed.unit_dir], Path("/"))
        families = service.words("Service", "RestrictAddressFamilies")
        if role == "api":
            assert sorted(families) == ["AF_INET", "AF_INET6", "AF_UNIX"]
            assert not service.flag("Service", "PrivateNetwork")
            assert service.get("Service", "IPAddressDeny") == "link-local multicast"
        else:
            assert families == ["AF_UNIX"], role
            assert service.flag("Service", "PrivateNetwork"), role
            assert service.get("Service", "IPAddressDeny") == "any", role


def test_the_distributed_drop_ins(installed, verify_root):
    """`make install-distributed`: the roles, the check and the boot replay reach exactly
    the stores' addresses; the api role keeps its link ingest (its own network.conf comes
    after, by file name: systemd's own reading, `systemd-analyze security`, says so); prune
    may see the local copies. Every unit still verifies."""
    root = private_directory("progimage-distributed-")
    try:
        shutil.copytree(verify_root, root, dirs_exist_ok=True, symlinks=True)
        make("install-distributed", f"DESTDIR={root}", "STORE_ADDRESSES=10.0.0.5 10.0.0.6")
        dirs = [installed.unit_dir, root / "etc/systemd/system"]
        problems = verify_problems(unit_names(installed.roles()), root)
        assert not problems, "\n".join(problems)
        for name in [f"progimage@{role}.service" for role in installed.roles() if role != "api"] + [
                "progimage-check.service", "progimage-replay-deletes.service"]:
            unit = Unit(name, dirs, root)
            assert not unit.flag("Service", "PrivateNetwork"), name
            assert sorted(unit.words("Service", "RestrictAddressFamilies")) == ["AF_INET", "AF_INET6", "AF_UNIX"], name
            assert set(unit.words("Service", "IPAddressDeny")) == {"any"}, name
            assert unit.words("Service", "IPAddressAllow") == ["10.0.0.5", "10.0.0.6"], name
        api = Unit("progimage@api.service", dirs, root)
        assert api.get("Service", "IPAddressDeny") == "link-local multicast"
        security = analyze("security", "--offline=true", "progimage@api.service", root=root).stdout
        assert "does not define an IP address allow list" in security, security
        prune = Unit("progimage-prune.service", dirs, root)
        assert prune.words("Service", "InaccessiblePaths") == []
        assert prune.words("Service", "ReadWritePaths") == [f"-{root}/var/lib/progimage/originals"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_deployment_guide_names_every_role(installed):
    """DEPLOYMENT.md's list of roles and its health loop, against TransformRole.all (they
    had missed pad and overlay, added later: the loop never checked them)."""
    doc = (Path(__file__).resolve().parents[2] / "docs/DEPLOYMENT.md").read_text()
    roles = installed.roles()
    assert re.search(r"^Roles: `([^`]+)`", doc, re.M).group(1).split() == roles
    assert re.search(r"^for role in ([a-z ]+); do$", doc, re.M).group(1).split() == roles
