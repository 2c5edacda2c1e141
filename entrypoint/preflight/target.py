"""The target database: dump it read-only, or take a dump file, and restore it once.

The restore goes straight into the copy the preview migrates: nothing in a run needs a
second copy, and cloning one (`CREATE DATABASE ... TEMPLATE`) costs a full file copy of
the data. Reading the archive's header (`pg_restore -l`) runs while the server starts
(`DumpReader`), and the restore is followed by an ANALYZE of the restored tables only.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from preflight import janitor, secrets
from preflight.disk import full_error, says_full, server_full
from preflight.environment import for_pg_dump, for_postgres
from preflight.errors import InfrastructureError, TargetError
from preflight.postgres import binaries
from preflight.postgres.base import Server

READ_ONLY = "-c default_transaction_read_only=on"


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


def describe_url(url: str) -> str:
    """Return the URL as the report may show it: no password, no query secrets."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return secrets.redact(url)
    host = params.get("host") or "localhost"
    port = params.get("port") or 5432
    user = str(params.get("user") or "")
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{params.get('dbname') or ''}"


def _connection_error(exc: psycopg.OperationalError, description: str) -> TargetError:
    text = str(exc)
    if "password authentication failed" in text or "no password supplied" in text:
        return TargetError(
            f"the target {description} refused the password",
            "check the user and password in --target-url (or PGPASSWORD)",
        )
    if "does not exist" in text and "database" in text:
        return TargetError(f"the target database in {description} does not exist", "check the database name")
    reason = [line for line in text.strip().splitlines() if line.strip()]
    return TargetError(
        f"cannot reach the target {description}: {reason[-1].strip() if reason else 'connection failed'}",
        "check host, port and network access, or restore from a dump with --target-dump",
    )


def check_dump_version(pg_dump_major: int, server_version_num: int) -> None:
    """Refuse early when the local pg_dump cannot dump a newer server."""
    server_major = server_version_num // 10000  # 90624 -> 9, 150018 -> 15
    if pg_dump_major < server_major:
        raise TargetError(
            f"pg_dump {pg_dump_major} is older than the target server ({server_major})",
            f"install postgresql-client-{server_major} and pass --pg-bin, or use --target-dump",
        )


def connect_read_only(url: str) -> psycopg.Connection:
    """Open a session on the target in which every transaction is read-only."""
    return psycopg.connect(url, options=READ_ONLY, connect_timeout=10, autocommit=True)


class _Drain:
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


def dump_url(url: str, dest: Path, pg_bin: str | None) -> TargetFacts:
    """Dump the target with pg_dump -Fc over a read-only session."""
    return start_dump_url(url, dest, pg_bin).result()


def start_dump_url(url: str, dest: Path, pg_bin: str | None) -> UrlDump:
    """Read the target's facts, then start pg_dump -Fc over a read-only session; `result()` waits for it.

    The server it is restored into can start meanwhile: `facts.server_version` is known at once.
    """
    secrets.register_url(url)
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise TargetError("--target-url does not parse", "use postgresql://user@host:port/dbname") from None
    description = describe_url(url)
    try:
        with connect_read_only(url) as conn:
            version_num = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
            lock_timeout = str(conn.execute("SHOW lock_timeout").fetchone()[0])  # type: ignore[index]
    except psycopg.OperationalError as exc:
        raise _connection_error(exc, description) from None
    except psycopg.ProgrammingError:
        raise TargetError(
            f"--target-url {description} does not parse", "use postgresql://user@host:port/dbname"
        ) from None
    bins = binaries.find(("pg_dump",), pg_bin)
    check_dump_version(bins.major("pg_dump"), version_num)
    env, conninfo = for_pg_dump(url, READ_ONLY)
    facts = TargetFacts(
        source="url",
        description=description,
        server_version=version,
        lock_timeout=lock_timeout,
        size_bytes=size,
        dump_format="custom",
    )
    return UrlDump(facts, [bins.path("pg_dump"), "-Fc", "--no-sync", "-f", str(dest), "-d", conninfo], env, dest)


class UrlDump:
    """A pg_dump of the target running while the caller does something else (starts a server).

    Started from the calling (main) thread, so it dies with Preflight (`janitor.tied`):
    never go on reading production for nobody. Its messages are read from a pipe on a
    thread (`_Drain`).
    """

    def __init__(self, facts: TargetFacts, args: list[str], env: dict[str, str], dest: Path) -> None:
        self.facts, self.dest = facts, dest
        self._started = time.monotonic()
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, **janitor.tied()
        )
        assert self._process.stderr is not None
        self._errors = _Drain(self._process.stderr)
        self._done: TargetFacts | None = None

    def result(self) -> TargetFacts:
        """Wait for pg_dump; return the facts with its time and size, or raise what went wrong."""
        if self._done is not None:
            return self._done
        code = self._process.wait()
        stderr = self._errors.text()
        description = self.facts.description
        if code != 0:
            if says_full(stderr):
                raise full_error(f"pg_dump of {description} could not write the dump", self.dest.parent)
            raise TargetError(f"pg_dump of {description} failed: {_error_line(stderr)}", _dump_fix(stderr))
        self.facts.dump_seconds = time.monotonic() - self._started
        self.facts.dump_bytes = self.dest.stat().st_size
        self._done = self.facts
        return self._done

    def close(self) -> None:
        """Stop pg_dump if nobody waits for it any more (the run failed meanwhile)."""
        if self._process.returncode is None:
            self._process.kill()
            self._process.wait()


def _dump_fix(stderr: str) -> str:
    if "permission denied" in stderr:
        return "the --target-url user needs SELECT on every table (a read-only role is enough)"
    return "check the target is reachable and the user can read every table"


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    picked = (errors or lines or ["no output"])[0]
    return secrets.redact(re.sub(r"^(pg_restore|pg_dump|psql):\s*(error:\s*)?", "", picked).strip())


def dump_database(server: Server, database: str, dest: Path, pg_bin: str | None = None) -> Path:
    """pg_dump -Fc a database of a throwaway server (the demo's production, test fixtures)."""
    bins = binaries.find(("pg_dump",), pg_bin)
    done = subprocess.run(
        [bins.path("pg_dump"), "-Fc", "--no-sync", "-f", str(dest), "-d", database],
        capture_output=True,
        text=True,
        env=for_postgres(server.info.client_env()),
        **janitor.tied(),
    )
    if done.returncode != 0:
        if says_full(done.stderr):
            raise full_error(f"pg_dump of {database} could not write the dump", dest.parent)
        raise InfrastructureError(
            f"pg_dump of {database} failed: {_error_line(done.stderr)}", "check free disk space in the destination"
        )
    return dest


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
    every other child (`janitor.tied`); its listing is read on a thread (`_Drain`), so a
    long table of contents never blocks it on a full pipe.
    """

    def __init__(self, path: Path, fmt: str, restore_bin: str) -> None:
        self.path, self.fmt = path, fmt
        self._out: _Drain | None = None
        self._err: _Drain | None = None
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
            self._out, self._err = _Drain(self._process.stdout), _Drain(self._process.stderr)

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
                f"{self.path.name} is corrupt or truncated: {_error_line(stderr)}", "make a new dump with pg_dump"
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


def read_dump(path: Path, pg_bin: str | None) -> DumpReader:
    """Start reading a dump's header; the format is checked at once, the version by `result()`."""
    fmt = dump_format(path)
    return DumpReader(path, fmt, binaries.find(("pg_restore",), pg_bin).path("pg_restore"))


def inspect_dump(path: Path, pg_bin: str | None) -> tuple[str, str | None]:
    """Return the dump's format and the server version it was dumped from (if it says)."""
    return read_dump(path, pg_bin).result()


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
        raise TargetError(f"restoring {path.name} failed: {_error_line(result.stderr)}", _restore_fix(result.stderr))
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
