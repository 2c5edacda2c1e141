"""PostgreSQL's programs (pg_dump, pg_restore, psql) as children: their pipes, their one error line."""

from __future__ import annotations

import re
import threading
from typing import IO

from preflight import secrets


class Drain:
    """Read a child's pipe on a thread, so the child never stalls on a full pipe while the caller is busy.

    A pipe, not a temp file: on a full disk a temp file would lose the very message that says so.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            self._chunks.append(stream.read())

    def text(self) -> str:
        self._thread.join()
        return b"".join(self._chunks).decode(errors="replace")


def exception_line(exc: BaseException) -> str:
    """Return the first line of what an exception says (its type when it says nothing), without a secret."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return secrets.redact(lines[0] if lines else type(exc).__name__)


def error_line(stderr: str) -> str:
    """Return the line of a tool's stderr that says what went wrong, without the tool's name or a secret."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    picked = (errors or lines or ["no output"])[0]
    return secrets.redact(re.sub(r"^(pg_restore|pg_dump|psql):\s*(error:\s*)?", "", picked).strip())
