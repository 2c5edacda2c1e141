"""Tell a full disk apart from every other failure, and say where and how much is free.

A full disk shows up in many shapes: ENOSPC from Python, "No space left on device" in
initdb's, pg_dump's or pg_restore's output, "could not extend file" or SQLSTATE 53100
from the server, or a server that crashed and wrote the reason only to its log. Each
of them is an infrastructure problem (exit 6), never a corrupt dump or a broken project.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from preflight import units
from preflight.errors import InfrastructureError

if TYPE_CHECKING:
    from preflight.postgres.base import Server

# What PostgreSQL, libpq programs and the C library write when a write fails for space.
MARKERS = ("No space left on device", "could not extend file", "DiskFull")
SQLSTATE = "53100"  # disk_full
FIX = "free disk space there, or point TMPDIR at a bigger disk"


def says_full(*texts: str | None) -> bool:
    """Return whether any of these outputs reports a full disk."""
    return any(marker.lower() in text.lower() for text in texts if text for marker in MARKERS)


def is_enospc(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def nearest_existing(path: Path | str) -> Path:
    """Return the folder to name: `path`, or its closest ancestor that exists and is not Preflight's own.

    A failed run removes its temporary folders (preflight-*); the user's TMPDIR is what to name.
    """
    current = Path(path).absolute()
    while (not current.exists() or current.name.startswith("preflight-")) and current != current.parent:
        current = current.parent
    return current


def free_space(directory: Path | str) -> str:
    """Return what is free where `directory` lives, e.g. '12.0 kB free of 8.4 MB after the failed write'."""
    try:
        usage = shutil.disk_usage(nearest_existing(directory))
    except OSError:
        return "free space unknown"
    return f"{units.size(usage.free)} free of {units.size(usage.total)} after the failed write"


def full_error(what: str, directory: Path | str | None) -> InfrastructureError:
    """The one error for a full disk: what ran out, in which directory, and what is free there."""
    if directory is None:
        return InfrastructureError(f"{what}: no space left on device", "free disk space on the server")
    where = nearest_existing(directory)
    return InfrastructureError(f"{what}: no space left on device in {where} ({free_space(where)})", FIX)


def temp_dir() -> Path:
    """Return the directory Preflight's temporary files go to (TMPDIR)."""
    return Path(tempfile.gettempdir())


def log_says_full(log: Path | None) -> bool:
    """Return whether a server log reports a full disk (a crash leaves the reason only there)."""
    if log is None:
        return False
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            return says_full(handle.read().decode(errors="replace"))
    except OSError:
        return False


def server_full(server: Server, what: str, *texts: str | None) -> InfrastructureError | None:
    """Return the full-disk error if the server's output or its log says so, else None."""
    if says_full(*texts) or log_says_full(server.log):
        return full_error(what, server.disk)
    return None
