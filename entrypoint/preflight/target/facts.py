"""What the report may say about the target: a record, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TargetFacts:
    """What the report may say about the target (never a password)."""

    source: str  # "url", "dump" or "baseline"
    description: str  # redacted URL, dump file name, or "git <ref>"
    server_version: str | None = None
    lock_timeout: str | None = None  # the target's default, as SHOW lock_timeout says
    size_bytes: int | None = None
    dump_seconds: float | None = None
    dump_bytes: int | None = None
    restore_seconds: float | None = None
    dump_format: str | None = None

    @property
    def header(self) -> tuple[str, str | None]:
        """(format, server version) of the dump pg_dump made of this target, as a DumpReader gives them."""
        return (self.dump_format or "custom", self.server_version)
