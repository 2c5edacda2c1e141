"""Back up the target before applying: pg_dump -Fc over a read-only session, then prove the file is whole.

A backup that cannot be restored is worse than none: it makes the apply look safe. So the
file is only given its final name once it has been verified:

- it is not empty, and `pg_restore --list` reads its table of contents;
- its TOC holds as many tables, sequences, indexes, constraints, views, materialized views
  and functions as the database's catalog (user schemas, without extension members, as
  pg_dump dumps them), counted in the very snapshot pg_dump dumped (`--snapshot`), so a
  concurrent change can never make a good dump look short, nor a short one look good;
- every data block reads back (`pg_restore -f /dev/null` decompresses the whole archive):
  a file cut short after its TOC still lists fine, and only this finds it.

Until then it is `<name>.partial`, removed on any failure. The password reaches pg_dump
through its environment (`environment.for_pg_dump`), never its command line.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from preflight import janitor, secrets
from preflight.disk import full_error, is_enospc, says_full
from preflight.environment import for_pg_dump, for_postgres
from preflight.errors import BackupError, InfrastructureError, TargetError
from preflight.postgres import binaries
from preflight.target.dumping import READ_ONLY, check_dump_version, connect_read_only, connection_error
from preflight.target.tools import error_line, exception_line

# TOC descriptions counted, in the order the report lists them.
KINDS = (
    "TABLE",
    "SEQUENCE",
    "INDEX",
    "CONSTRAINT",
    "FK CONSTRAINT",
    "VIEW",
    "MATERIALIZED VIEW",
    "FUNCTION",
    "PROCEDURE",
)
RETRY_FIX = "check free disk space and that the user can read every table, then retry (or pass --no-backup)"
# `pg_restore --list`: "215; 1259 16386 TABLE public item owner". Entries that carry no
# catalog object of their own (TABLE DATA, SEQUENCE SET, INDEX ATTACH, ...) have tableoid 0.
_TOC_LINE = re.compile(r"^\d+;\s+(?P<tableoid>\d+)\s+\d+\s+(?P<rest>.+)$")

# The user's schemas, as pg_dump dumps them: not the system's, not an extension's objects.
_USER = """
n.nspname NOT IN ('pg_catalog', 'information_schema')
AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = {rel} AND d.deptype = 'e')
"""
_RELATIONS = """
SELECT CASE c.relkind WHEN 'p' THEN 'TABLE' WHEN 'r' THEN 'TABLE' WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                      ELSE 'MATERIALIZED VIEW' END, count(*)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm') AND {user}
GROUP BY 1
""".format(user=_USER.format(rel="c.oid"))
# An index that backs a primary key, unique or exclusion constraint is dumped as that CONSTRAINT.
# pg_dump leaves out an INVALID index (an interrupted CREATE INDEX CONCURRENTLY) and one still
# being built (not ready), but a partitioned table's, which is invalid until every partition has it.
_INDEXES = """
SELECT 'INDEX', count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {user} AND i.indisready AND (i.indisvalid OR c.relkind = 'p') AND NOT EXISTS (
  SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
""".format(user=_USER.format(rel="c.oid"))
# A partition's copy of its parent's foreign key (conparentid <> 0) comes with the parent's.
_CONSTRAINTS = """
SELECT CASE k.contype WHEN 'f' THEN 'FK CONSTRAINT' ELSE 'CONSTRAINT' END, count(*)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {user} AND (k.contype IN ('p', 'u', 'x') OR (k.contype = 'f' AND {top}))
GROUP BY 1
"""
_ROUTINES = """
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, count(*)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'w', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
GROUP BY 1
"""
MODERN = 110000  # PostgreSQL 11: pg_proc.prokind and pg_constraint.conparentid


def _catalog_query(version_num: int) -> str:
    user = _USER.format(rel="c.oid")
    parts = [
        _RELATIONS,
        _INDEXES,
        _CONSTRAINTS.format(user=user, top="k.conparentid = 0" if version_num >= MODERN else "true"),
    ]
    if version_num >= MODERN:
        parts.append(_ROUTINES)  # before 11 functions and aggregates look alike: not counted
    return "UNION ALL".join(parts)


@dataclass(frozen=True)
class Backup:
    """A verified pg_dump -Fc of the target, and how to restore it."""

    path: Path
    size_bytes: int
    seconds: float  # dump and verification
    objects: dict[str, int]  # TOC kind -> count, equal to the database's
    restore_command: str  # with "$DATABASE_URL", never the real URL

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "seconds": round(self.seconds, 3),
            "objects": dict(self.objects),
            "restore_command": self.restore_command,
        }


def take(url: str, directory: Path, pg_bin: str | None, *, description: str) -> Backup:
    """Dump the target at `url` into `directory` and verify the file; raise BackupError if either fails."""
    secrets.register_url(url)
    started = time.monotonic()
    directory = Path(directory)
    check_directory(directory)
    bins = binaries.find(("pg_dump", "pg_restore"), pg_bin)
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise BackupError(
            f"cannot back up {description}: the URL does not parse", "use postgresql://user@host:port/dbname"
        ) from None
    partial: Path | None = None
    holding: int | None = None  # the partial file's descriptor, flock'ed while it is being written
    try:
        with connect_read_only(url) as conn:
            version_num = int(_one(conn, "SHOW server_version_num"))
            try:
                check_dump_version(bins.major("pg_dump"), version_num)
            except TargetError as exc:
                raise BackupError(f"cannot back up {description}: {exc.cause}", exc.fix) from None
            # Count the catalog in the snapshot pg_dump will dump: both see the same database.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                snapshot = str(_one(conn, "SELECT pg_export_snapshot()"))
                database = str(_one(conn, "SELECT current_database()"))
                _sweep_partials(directory, database)
                final = _backup_path(directory, database)
                partial = final.with_name(final.name + ".partial")
                holding = _claim(partial)
                expected = catalog_counts(conn, version_num)
                _pg_dump(bins.path("pg_dump"), url, snapshot, partial, description)
    except psycopg.OperationalError as exc:
        _remove(partial)
        _release(holding)
        error = connection_error(exc, description, "check the target is reachable, then retry")
        raise BackupError(f"cannot back up: {error.cause}", error.fix) from None
    except psycopg.Error as exc:
        _remove(partial)
        _release(holding)
        raise BackupError(f"cannot back up {description}: {exception_line(exc)}", RETRY_FIX) from None
    except BaseException:
        _remove(partial)
        _release(holding)
        raise
    assert partial is not None
    try:
        objects = verify(partial, expected, bins.path("pg_restore"))
        partial.rename(final)
        _sync_directory(directory)
    except BaseException:
        _remove(partial)
        raise
    finally:
        _release(holding)
    return Backup(
        path=final,
        size_bytes=final.stat().st_size,
        seconds=time.monotonic() - started,
        objects=objects,
        restore_command=restore_command(final),
    )


def check_directory(directory: Path) -> None:
    """Create `directory` if needed and prove a file can be written there; BackupError if not."""
    try:
        for folder in (directory, *directory.parents):
            if folder.exists():
                if not folder.is_dir():  # mkdir would only say "File exists"
                    raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a directory")
                break
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # what it holds is for its owner only
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".preflight-write-test-"):
            pass
    except OSError as exc:
        if is_enospc(exc):
            raise _full(f"the backup directory {directory}", directory) from None
        raise BackupError(
            f"cannot write the backup to {directory}: {exc.strerror or exc}",
            "pass a --backup-dir this user can create files in (or --no-backup to apply without one)",
        ) from None


def restore_command(path: Path) -> str:
    """Return the command that puts the database back as the backup holds it (the URL left to the reader)."""
    # One transaction, stopping at the first error: all of it restored, or nothing (never half).
    options = "--clean --if-exists --no-owner --single-transaction --exit-on-error"
    return f'pg_restore {options} -d "$DATABASE_URL" {shlex.quote(str(path))}'


def catalog_counts(conn: psycopg.Connection, version_num: int) -> dict[str, int]:
    """Count, in the database's catalog, the objects pg_dump writes a TOC entry for (see KINDS)."""
    rows = conn.execute(_catalog_query(version_num)).fetchall()  # type: ignore[call-overload]
    counts = dict.fromkeys(KINDS if version_num >= MODERN else KINDS[:-2], 0)
    for kind, count in rows:
        counts[kind] = counts.get(kind, 0) + int(count)
    return counts


def toc_counts(listing: str) -> dict[str, int]:
    """Count the catalog objects per kind in a `pg_restore --list` listing."""
    counts = dict.fromkeys(KINDS, 0)
    by_length = sorted(KINDS, key=len, reverse=True)
    for line in listing.splitlines():
        match = _TOC_LINE.match(line)
        if match is None or match["tableoid"] == "0":
            continue
        rest = match["rest"]
        for kind in by_length:
            if rest.startswith(kind + " "):
                counts[kind] += 1
                break
    return counts


def verify(path: Path, expected: Mapping[str, int], pg_restore: str) -> dict[str, int]:
    """Prove the dump is whole: not empty, its TOC reads and matches `expected`, its data reads back."""
    name = path.name.removesuffix(".partial")
    if not path.exists() or path.stat().st_size == 0:
        raise BackupError(f"the backup {name} is empty", RETRY_FIX)
    listed = _run([pg_restore, "--list", str(path)])
    if listed.returncode != 0:
        raise BackupError(f"pg_restore cannot read the backup {name}: {error_line(listed.stderr)}", RETRY_FIX)
    found = toc_counts(listed.stdout)
    for kind, want in expected.items():
        got = found.get(kind, 0)
        if got != want:
            raise BackupError(
                f"the backup {name} holds {got} {_plural(kind, got)} but the database has {want}",
                "check the user can read every schema and table (pg_dump skipped some), then retry",
            )
    read = _run([pg_restore, "-f", os.devnull, str(path)])
    if read.returncode != 0:
        raise BackupError(f"the backup {name} does not read back whole: {error_line(read.stderr)}", RETRY_FIX)
    return {kind: found[kind] for kind in expected}


def _pg_dump(program: str, url: str, snapshot: str, dest: Path, description: str) -> None:
    env, conninfo = for_pg_dump(url, READ_ONLY)  # the password in env["PGPASSWORD"], not in conninfo
    done = _run([program, "-Fc", f"--snapshot={snapshot}", "-f", str(dest), "-d", conninfo], env=env)
    if done.returncode == 0:
        return
    if says_full(done.stderr):
        raise _full(f"pg_dump of {description} could not write the backup", dest.parent)
    fix = (
        "the user needs SELECT on every table (a read-only role is enough)"
        if "permission denied" in done.stderr
        else RETRY_FIX
    )
    raise BackupError(f"pg_dump of {description} failed: {error_line(done.stderr)}", fix)


def _full(what: str, directory: Path) -> InfrastructureError:
    """The full-disk error (exit 6), with the fix that fits a backup: another --backup-dir, not TMPDIR."""
    return InfrastructureError(
        full_error(what, directory).cause, "free disk space there, or pass a --backup-dir on a bigger disk"
    )


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        errors="replace",
        env=env if env is not None else for_postgres(),
        **janitor.tied(),
    )


def _claim(partial: Path) -> int:
    """Create the backup's file, readable by its owner only, and hold an flock on it while it is written.

    The backup holds every row (password hashes too). pg_dump writes into the file made here,
    and its mode stays; the flock tells a sweep that a running backup owns it.
    """
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # and its flock


def _sweep_partials(directory: Path, database: str) -> None:
    """Remove the unfinished files of this database's backups that a killed run left.

    Only files no running backup holds (flock): another server's database of the same name
    may share the folder, and its backup may be under way.
    """
    for stale in directory.glob(f"{_safe(database)}-*.dump.partial"):
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # being written right now
        else:
            _remove(stale)
        finally:
            os.close(fd)


def _safe(database: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", database).lstrip(".") or "database"


def _backup_path(directory: Path, database: str) -> Path:
    """Return `<database>-<UTC yyyymmddThhmmssZ>.dump` in `directory`, never an existing file's name."""
    safe = _safe(database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path, number = directory / f"{safe}-{stamp}.dump", 1
    while path.exists() or path.with_name(path.name + ".partial").exists():
        number += 1
        path = directory / f"{safe}-{stamp}-{number}.dump"
    return path


def _one(conn: psycopg.Connection, query: str) -> Any:
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def _plural(kind: str, count: int) -> str:
    word = kind.lower().replace("fk ", "foreign key ")
    if count == 1:
        return word
    if word.endswith("x"):
        return word + "es"
    return word + "s"


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable: a backup that vanishes in a power cut is no backup."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
