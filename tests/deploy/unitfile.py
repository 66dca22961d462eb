"""Reading systemd unit files the way systemd does, for the parts the deploy tests use.

Enough of systemd.unit(5) to start an instance as its unit says: a template instance is
read from its template, drop-ins (`NAME.d/*.conf` of the template and of the instance) are
applied in file-name order, an empty assignment resets a list setting, and the specifiers
%i %I %S %C %t %% are expanded against a root directory instead of /.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path


class Unit:
    """One unit's settings: `unit.get("Service", "User")` (last value) or
    `unit.all("Service", "Environment")` (every value, after resets), specifiers expanded."""

    def __init__(self, name: str, unit_dirs: list[Path], root: Path):
        self.name = name
        self.root = root
        stem, _, suffix = name.rpartition(".")
        prefix, at, instance = stem.partition("@")
        self.instance = instance
        template = f"{prefix}@.{suffix}" if at else name
        main = next((d / template for d in unit_dirs if (d / template).is_file()), None)
        if main is None:
            raise FileNotFoundError(f"{template} not in {[str(d) for d in unit_dirs]}")
        self.files = [main]
        dropins: dict[str, Path] = {}  # by file name: a later directory overrides an earlier one
        for d in unit_dirs:
            for folder in {f"{template}.d", f"{name}.d"}:
                for conf in sorted((d / folder).glob("*.conf")):
                    dropins[conf.name] = conf
        self.files += [dropins[n] for n in sorted(dropins)]
        self.settings: dict[str, dict[str, list[str]]] = {}
        for f in self.files:
            self._read(f)

    def _read(self, path: Path) -> None:
        section = None
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = self.settings.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition("=")
            values = section.setdefault(key.strip(), [])
            value = value.strip()
            if value:
                values.append(self.expand(value))
            else:
                values.clear()

    def expand(self, value: str) -> str:
        table = {
            "i": self.instance, "I": self.instance, "%": "%",
            "S": str(self.root / "var/lib"), "C": str(self.root / "var/cache"), "t": str(self.root / "run"),
        }
        return re.sub(r"%(.)", lambda m: table[m.group(1)], value)

    def all(self, section: str, key: str) -> list[str]:
        return list(self.settings.get(section, {}).get(key, []))

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        values = self.all(section, key)
        return values[-1] if values else default

    def flag(self, section: str, key: str) -> bool:
        return (self.get(section, key) or "no").lower() in ("yes", "true", "on", "1")

    def words(self, section: str, key: str) -> list[str]:
        """A list setting: every assignment's words, concatenated."""
        return [w for v in self.all(section, key) for w in v.split()]

    def environment(self) -> dict[str, str]:
        """Environment=, then each EnvironmentFile= (which wins, as in systemd)."""
        env: dict[str, str] = {}
        for value in self.all("Service", "Environment"):
            for assignment in shlex.split(value):
                k, _, v = assignment.partition("=")
                env[k] = v
        for value in self.all("Service", "EnvironmentFile"):
            optional = value.startswith("-")
            path = self.root / value.lstrip("-").lstrip("/")
            if not path.exists() and optional:
                continue
            env.update(read_environment_file(path))
        return env


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and lines starting with # or ; are ignored."""
    env = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, eq, value = line.partition("=")
        assert eq, f"{path}: not an assignment: {raw!r}"
        env[key.strip()] = value.strip()
    return env


_SYSCALL_GROUPS: dict[str, list[str]] | None = None


def syscall_groups() -> dict[str, list[str]]:
    """systemd's named system call sets (`systemd-analyze syscall-filter`), unexpanded."""
    global _SYSCALL_GROUPS
    if _SYSCALL_GROUPS is None:
        out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True,
                             check=True).stdout
        groups: dict[str, list[str]] = {}
        current = None
        for line in out.splitlines():
            if line.startswith("@"):
                current = groups.setdefault(line.strip(), [])
            elif current is not None and line.strip() and not line.strip().startswith("#"):
                current.append(line.strip())
        _SYSCALL_GROUPS = groups
    return _SYSCALL_GROUPS


def expand_syscalls(names: list[str]) -> set[str]:
    groups = syscall_groups()
    out: set[str] = set()
    for name in names:
        out |= expand_syscalls(groups[name]) if name.startswith("@") else {name}
    return out


def allowed_syscalls(unit: Unit) -> set[str] | None:
    """The allow list SystemCallFilter= leaves: the first assignment's list (plus @default,
    which systemd adds to every allow list), minus every `~` list; None if unfiltered."""
    values = unit.all("Service", "SystemCallFilter")
    if not values or values[0].startswith("~"):
        return None
    allowed = expand_syscalls(["@default"])
    for value in values:
        if value.startswith("~"):
            allowed -= expand_syscalls(value[1:].split())
        else:
            allowed |= expand_syscalls(value.split())
    return allowed
