"""A dump file's header: its format from its first bytes, the version it came from (`pg_restore -l`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from preflight import janitor
from preflight.environment import for_postgres
from preflight.errors import TargetError
from preflight.postgres import binaries
from preflight.target.tools import Drain, error_line


def dump_format(path: Path) -> str:
    """Return 'directory', 'custom', 'tar' or 'plain' from the file's own header."""
    if path.is_dir():
        if not (path / "toc.dat").exists():
            raise TargetError(f"{path} is a directory without toc.dat", "pass a pg_dump -Fd directory, or a file")
        return "directory"
    if not path.exists():
        raise TargetError(f"--target-dump {path} does not exist", "check the path")
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if not head or b"\x00" in head:
        raise TargetError(f"{path} is not a pg_dump archive or SQL script", "pass a dump made by pg_dump")
    return "plain"


def _version_in(text: str) -> str | None:
    match = re.search(r"Dumped from database version:\s*(\S+)", text)
    return match.group(1) if match else None


class DumpReader:
    """Read a dump's header in the background: `pg_restore -l` runs while the caller starts a server.

    The child is started from the calling (main) thread, so it dies with Preflight like
    every other child (`janitor.tied`); its listing is read on a thread (`Drain`), so a
    long table of contents never blocks it on a full pipe.
    """

    def __init__(self, path: Path, fmt: str, restore_bin: str) -> None:
        self.path, self.fmt = path, fmt
        self._out: Drain | None = None
        self._err: Drain | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._read: tuple[str, str | None] | None = None
        if fmt != "plain":
            self._process = subprocess.Popen(
                [restore_bin, "-l", str(path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=for_postgres(),
                **janitor.tied(),
            )
            assert self._process.stdout is not None and self._process.stderr is not None
            self._out, self._err = Drain(self._process.stdout), Drain(self._process.stderr)

    def result(self) -> tuple[str, str | None]:
        """Wait for the listing; return the format and the server version it was dumped from."""
        if self._read is None:
            self._read = self._wait()
        return self._read

    def _wait(self) -> tuple[str, str | None]:
        if self._process is None or self._out is None or self._err is None:
            return self.fmt, self._plain_version()
        code = self._process.wait()
        listing, stderr = self._out.text(), self._err.text()
        if code != 0:
            raise TargetError(
                f"{self.path.name} is corrupt or truncated: {error_line(stderr)}", "make a new dump with pg_dump"
            )
        return self.fmt, _version_in(listing)

    def close(self) -> None:
        """Stop the listing if nobody waits for it any more (the server start failed)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            self._process.wait()

    def _plain_version(self) -> str | None:
        with self.path.open("r", errors="replace") as handle:
            for _, line in zip(range(40), handle, strict=False):
                if "Dumped from database version" in line:
                    return line.split("version", 1)[1].split()[0]
        return None


def read_dump(path: Path, pg_bin: str | None) -> DumpReader:
    """Start reading a dump's header; the format is checked at once, the version by `result()`."""
    fmt = dump_format(path)
    return DumpReader(path, fmt, binaries.find(("pg_restore",), pg_bin).path("pg_restore"))


def inspect_dump(path: Path, pg_bin: str | None) -> tuple[str, str | None]:
    """Return the dump's format and the server version it was dumped from (if it says)."""
    return read_dump(path, pg_bin).result()
