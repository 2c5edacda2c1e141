"""The target database: dump it read-only, or take a dump file, and restore it once.

The restore goes straight into the copy the preview migrates: nothing in a run needs a
second copy, and cloning one (`CREATE DATABASE ... TEMPLATE`) costs a full file copy of
the data. Reading the archive's header (`pg_restore -l`) runs while the server starts
(`DumpReader`), and the restore is followed by an ANALYZE of the restored tables only.

By job: `dumping` (pg_dump of a URL over a read-only session, or of a throwaway server's
database), `header` (a dump file's format and the version it came from), `restoring`
(into the copy); `facts` is what the report may say about the target, `tools` runs
PostgreSQL's programs as children. Callers use the names below.
"""

from __future__ import annotations

from preflight.target.dumping import (
    READ_ONLY,
    UrlDump,
    check_dump_version,
    connect_read_only,
    connection_error,
    describe_url,
    dump_database,
    dump_url,
    start_dump_url,
)
from preflight.target.facts import TargetFacts
from preflight.target.header import DumpReader, dump_format, inspect_dump, read_dump
from preflight.target.restoring import restore

__all__ = [
    "READ_ONLY",
    "DumpReader",
    "TargetFacts",
    "UrlDump",
    "check_dump_version",
    "connect_read_only",
    "connection_error",
    "describe_url",
    "dump_database",
    "dump_format",
    "dump_url",
    "inspect_dump",
    "read_dump",
    "restore",
    "start_dump_url",
]
