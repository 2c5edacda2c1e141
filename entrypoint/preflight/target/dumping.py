"""Dump the target: pg_dump of a URL over a read-only session, or of a throwaway server's database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psycopg

from preflight import janitor, secrets
from preflight.disk import full_error, says_full
from preflight.environment import for_pg_dump, for_postgres
from preflight.errors import InfrastructureError, TargetError
from preflight.postgres import binaries
from preflight.postgres.base import Server
from preflight.target.facts import TargetFacts
from preflight.target.tools import Drain, error_line

READ_ONLY = "-c default_transaction_read_only=on"


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


UNREACHABLE_FIX = "check host, port and network access, or restore from a dump with --target-dump"


def connection_error(
    exc: psycopg.OperationalError, description: str, unreachable_fix: str = UNREACHABLE_FIX
) -> TargetError:
    """Return the one error for a failed connection to the target: wrong password, no database, unreachable."""
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
        raise connection_error(exc, description) from None
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
    thread (`Drain`).
    """

    def __init__(self, facts: TargetFacts, args: list[str], env: dict[str, str], dest: Path) -> None:
        self.facts, self.dest = facts, dest
        self._started = time.monotonic()
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, **janitor.tied()
        )
        assert self._process.stderr is not None
        self._errors = Drain(self._process.stderr)
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
            raise TargetError(f"pg_dump of {description} failed: {error_line(stderr)}", _dump_fix(stderr))
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
            f"pg_dump of {database} failed: {error_line(done.stderr)}", "check free disk space in the destination"
        )
    return dest
