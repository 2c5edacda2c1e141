"""Restore a dump straight into the copy the preview migrates, then ANALYZE what it restored."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from psycopg import sql

from preflight import janitor
from preflight.disk import server_full
from preflight.environment import for_postgres
from preflight.errors import TargetError
from preflight.postgres import binaries
from preflight.postgres.base import Server
from preflight.target.facts import TargetFacts
from preflight.target.header import inspect_dump
from preflight.target.tools import error_line


def _plain_roles(path: Path) -> set[str]:
    """Roles a plain dump names in OWNER TO / GRANT ... TO, which must exist to replay it."""
    pattern = re.compile(r"(?:OWNER TO|GRANT .+? TO|REVOKE .+? FROM)\s+(\"[^\"]+\"|[A-Za-z_][\w$]*)\s*;")
    roles: set[str] = set()
    with path.open("r", errors="replace") as handle:
        for line in handle:
            for match in pattern.finditer(line):
                role = match.group(1).strip('"')
                if role.upper() not in ("PUBLIC", "CURRENT_USER", "SESSION_USER"):
                    roles.add(role)
    return roles


# Restored tables only: the catalogs' statistics came with the cluster, and ANALYZE of
# every catalog table costs as much as that of a small dump's data.
USER_TABLES = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition  -- a partitioned table's ANALYZE covers them
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
    ORDER BY 1, 2
"""


def restore(
    server: Server,
    path: Path,
    pg_bin: str | None,
    jobs: int,
    into: str | None = None,
    header: tuple[str, str | None] | None = None,
) -> tuple[str, TargetFacts]:
    """Restore a dump into database `into` (a new one when None); return its name and the facts.

    `header` is what `read_dump(...).result()` already said, so the archive is not listed twice.
    """
    fmt, version = header or inspect_dump(path, pg_bin)
    bins = binaries.find(("pg_restore", "psql"), pg_bin)
    database = into or server.create_database("copy")
    env = for_postgres(server.info.client_env())
    started = time.monotonic()
    if fmt == "plain":
        with server.connect() as conn:
            for role in sorted(_plain_roles(path)):
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        args = [bins.path("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", str(path)]
    else:
        # Parallel restore needs a seekable archive: custom or directory, not tar.
        parallel = ["-j", str(max(1, jobs))] if fmt in ("custom", "directory") else []
        args = [
            bins.path("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            *parallel,
            "-d",
            database,
            str(path),
        ]
    result = subprocess.run(args, capture_output=True, text=True, env=env, **janitor.tied())
    if result.returncode != 0:
        full = server_full(server, f"restoring {path.name} into the throwaway server", result.stderr)
        if full is not None:
            raise full
        raise TargetError(f"restoring {path.name} failed: {error_line(result.stderr)}", _restore_fix(result.stderr))
    with server.connect(database) as conn:
        # Statistics as production has them: the migrations' own queries (a data
        # migration's UPDATE) are planned as they would be there. pg_restore runs none.
        tables = conn.execute(USER_TABLES).fetchall()
        if tables:
            names = sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)
            conn.execute(sql.SQL("ANALYZE {}").format(names))
        size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
    facts = TargetFacts(
        source="dump",
        description=path.name,
        server_version=version,
        size_bytes=size,
        restore_seconds=time.monotonic() - started,
        dump_format=fmt,
        dump_bytes=path.stat().st_size if path.is_file() else None,
    )
    return database, facts


def _restore_fix(stderr: str) -> str:
    if "unsupported version" in stderr:
        return "the dump is newer than this pg_restore: install a newer PostgreSQL client and pass --pg-bin"
    return "make a new dump with pg_dump (custom -Fc, directory -Fd or plain SQL) and try again"
