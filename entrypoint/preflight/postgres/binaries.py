"""Find PostgreSQL's server and client programs on this machine."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import InfrastructureError

SERVER_PROGRAMS = ("initdb", "postgres")


@dataclass(frozen=True)
class Binaries:
    bindir: Path

    def path(self, program: str) -> str:
        return str(self.bindir / program)

    def major(self, program: str = "pg_dump") -> int:
        return tool_major(self.path(program))


def tool_major(program: str) -> int:
    """Return the major version a PostgreSQL program reports with --version."""
    out = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    return parse_major(out)


def parse_major(version_text: str) -> int:
    """Return the major version from e.g. 'pg_dump (PostgreSQL) 15.18 (Debian ...)'."""
    match = re.search(r"\)\s+(\d+)(?:\.(\d+))?", version_text) or re.search(r"(\d+)\.\d+", version_text)
    if not match:
        raise InfrastructureError(f"cannot read a PostgreSQL version from {version_text.strip()!r}")
    major = int(match.group(1))
    # Before 10 the major version had two parts (9.6); the tool compares whole numbers.
    return major


def _candidates(explicit: str | None) -> list[Path]:
    explicit = explicit or os.environ.get("PREFLIGHT_PG_BIN")  # e.g. CI picking a PostgreSQL version
    if explicit:
        return [Path(explicit)]
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            found.append(Path(result.stdout.strip()))

    def version_key(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    found += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)]
    found += [Path("/usr/local/pgsql/bin"), Path("/opt/homebrew/bin"), Path("/usr/local/bin")]
    initdb = shutil.which("initdb")
    if initdb:
        found.append(Path(initdb).parent)
    return found


def find(programs: tuple[str, ...], explicit: str | None = None) -> Binaries:
    """Return the first directory holding all `programs`, or raise with the fix."""
    for bindir in _candidates(explicit):
        if all(os.access(bindir / p, os.X_OK) for p in programs):
            return Binaries(bindir)
    where = f"in {explicit}" if explicit else "via pg_config, /usr/lib/postgresql/*/bin or PATH"
    raise InfrastructureError(
        f"no PostgreSQL programs ({', '.join(programs)}) found {where}",
        "install the PostgreSQL server and client (e.g. apt-get install postgresql) or pass --pg-bin DIR",
    )
