"""Who changed production, when, from where, and how it ended: one audit record per apply attempt.

Two sinks, either or both: a JSON-lines file (`--audit-log`) and a table in the target
database (`--audit-table`). Refusals are recorded as well as applies. Every string goes
through `secrets.redact` before it is written: a record can quote an error message, and
an error message can quote a URL.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from preflight import __version__, secrets
from preflight.disk import full_error, is_enospc
from preflight.errors import TargetError, UsageError
from preflight.target.dumping import READ_ONLY, connection_error, describe_url
from preflight.target.tools import exception_line

Via = Literal["cli", "action", "route", "command"]
Action = Literal["apply", "dry-run"]
Result = Literal[
    "applied", "nothing-pending", "refused", "blocked", "locked", "failed", "dry-run", "backup-failed", "unverified"
]
VIAS: tuple[str, ...] = ("cli", "action", "route", "command")
ACTIONS: tuple[str, ...] = ("apply", "dry-run")
RESULTS: tuple[str, ...] = (
    "applied",
    "nothing-pending",
    "refused",
    "blocked",
    "locked",
    "failed",
    "dry-run",
    "backup-failed",
    "unverified",  # applied, but showmigrations, check or the --test-command failed after
)
# [schema.]name, each an unquoted PostgreSQL identifier of at most 63 bytes.
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
TABLE_NAME = re.compile(rf"^(?:(?P<schema>{_IDENTIFIER})\.)?(?P<name>{_IDENTIFIER})$")


def utc_now() -> str:
    """Return the time now as ISO 8601 UTC, e.g. '2026-11-22T14:02:11.123Z'."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One apply attempt (or refusal) as the audit trail keeps it; never a password."""

    who: str  # GitHub actor, OS user, or the route's authenticated user / token name
    origin: str  # CI run URL, host name, or the client IP the route saw
    via: Via
    action: Action
    result: Result
    target: str  # the target's description, without password
    reason: str | None = None  # why it was refused, blocked or failed
    migrations: tuple[str, ...] = ()  # "app.name" labels applied (or planned, for a dry run or a refusal)
    backup: str | None = None  # the verified backup's path
    backup_bytes: int | None = None
    no_backup: bool = False  # --no-backup was given
    duration_ms: float = 0.0
    at: str = field(default_factory=utc_now)
    preflight_version: str = __version__

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("via", self.via, VIAS),
            ("action", self.action, ACTIONS),
            ("result", self.result, RESULTS),
        ):
            if value not in allowed:
                raise ValueError(f"AuditRecord.{name} {value!r} is not one of {', '.join(allowed)}")
        object.__setattr__(self, "migrations", tuple(self.migrations))

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready values, every string redacted."""
        data = asdict(self)
        data["migrations"] = list(self.migrations)
        return _redacted(data)

    def to_json(self) -> str:
        """Return the record as one line of JSON (no newline in it, whatever the strings hold)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """Read a record back (keys a later version added are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["migrations"] = tuple(values.get("migrations") or ())
        return cls(**values)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return secrets.redact(value)
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


def who_and_where(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return (who, origin) for the CLI: the GitHub actor and run URL in Actions, else OS user and host."""
    environ = os.environ if environ is None else environ
    if environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_RUN_ID"):
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        run = f"{server}/{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{environ['GITHUB_RUN_ID']}"
        return environ.get("GITHUB_ACTOR") or "github-actions", run
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no passwd entry (some containers) and no USER/LOGNAME
        user = f"uid {os.getuid()}"
    return user, socket.gethostname()


# --- JSON lines --------------------------------------------------------------------------


def check_jsonl(path: Path) -> None:
    """Prove the audit log can be appended to before anything is changed; UsageError if not."""
    try:
        _make_parent(path)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
    except OSError as exc:
        raise _log_error(path, exc) from None


def append_jsonl(path: Path, record: AuditRecord) -> None:
    """Append the record to `path` as one line: one write under an exclusive lock, then fsync.

    O_APPEND puts every write at the end, and the lock (flock) keeps two writers' lines
    whole even where the file system would split a large write.
    """
    line = (record.to_json() + "\n").encode()
    try:
        _make_parent(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, line)
            if written != len(line):  # only a full disk cuts a regular file's write short
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
    except OSError as exc:
        raise _log_error(path, exc) from None


def _make_parent(path: Path) -> None:
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():  # mkdir would only say "File exists"
                raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a directory")
            break
    path.parent.mkdir(parents=True, exist_ok=True)


def _log_error(path: Path, exc: OSError) -> Exception:
    if is_enospc(exc):
        return full_error(f"writing the audit log {path}", path.parent)
    return UsageError(
        f"cannot write the audit log {path}: {exc.strerror or exc}", "pass an --audit-log this user can write"
    )


def read_jsonl(path: Path, last: int = 20) -> list[AuditRecord]:
    """Return the last `last` records of the log, oldest first; a line that does not parse is skipped."""
    if last <= 0:
        return []
    wanted = last
    while True:
        try:
            lines = _tail_lines(path, wanted)
        except FileNotFoundError:
            return []
        records = [record for record in (_parse(line) for line in lines) if record is not None]
        if len(records) >= last or len(lines) < wanted:  # enough, or the whole file was read
            return records[-last:]
        wanted *= 2  # some lines did not parse: read further back


def _tail_lines(path: Path, count: int, block: int = 64 * 1024) -> list[bytes]:
    """Read the last `count` lines from the end, block by block: an audit log only grows."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        position, data = handle.tell(), b""
        while position > 0 and data.count(b"\n") <= count:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    return [line for line in data.splitlines() if line.strip()][-count:]


def _parse(line: bytes | str | Mapping[str, Any]) -> AuditRecord | None:
    try:
        data = json.loads(line) if isinstance(line, bytes | str) else line
        return AuditRecord.from_dict(data) if isinstance(data, Mapping) else None
    except (ValueError, TypeError):
        return None


# --- a table in the target database ------------------------------------------------------

_COLUMNS = """
id bigserial PRIMARY KEY,
at timestamptz NOT NULL,
who text NOT NULL,
origin text NOT NULL,
via text NOT NULL,
action text NOT NULL,
result text NOT NULL,
reason text,
migrations text[] NOT NULL,
backup text,
backup_bytes bigint,
no_backup boolean NOT NULL,
target text NOT NULL,
duration_ms double precision NOT NULL,
preflight_version text NOT NULL,
detail jsonb NOT NULL
"""
_FIELDS = (
    "at",
    "who",
    "origin",
    "via",
    "action",
    "result",
    "reason",
    "migrations",
    "backup",
    "backup_bytes",
    "no_backup",
    "target",
    "duration_ms",
    "preflight_version",
)


def table_identifier(table: str) -> sql.Identifier:
    """Return `[schema.]name` as a quoted identifier; UsageError for anything else."""
    match = TABLE_NAME.match(table)
    if match is None:
        raise UsageError(
            f"--audit-table {table[:80]!r} is not a table name",
            "use [schema.]name: letters, digits, _ and $, starting with a letter or _",
        )
    return sql.Identifier(*(part for part in (match["schema"], match["name"]) if part))


def append_table(conninfo: str, table: str, record: AuditRecord) -> None:
    """Insert the record into `table` in the target (created on first use), on a connection of its own."""
    identifier = table_identifier(table)
    secrets.register_url(conninfo)
    data = record.to_dict()
    insert = sql.SQL("INSERT INTO {} ({}, detail) VALUES ({}, %s)").format(
        identifier,
        sql.SQL(", ").join(sql.Identifier(name) for name in _FIELDS),
        sql.SQL(", ").join(sql.Placeholder() for _ in _FIELDS),
    )
    try:
        with _connect(conninfo, "preflight audit") as conn:
            _create(conn, table, identifier)
            conn.execute(insert, [*(data[name] for name in _FIELDS), Jsonb(data)])
    except TargetError:
        raise
    except psycopg.Error as exc:
        raise _table_error(table, exc) from None


def check_table(conninfo: str, table: str) -> None:
    """Prove the audit table can take a record before anything is changed: created if missing, INSERT allowed."""
    identifier = table_identifier(table)
    secrets.register_url(conninfo)
    try:
        with _connect(conninfo, "preflight audit") as conn:
            _create(conn, table, identifier)
            row = conn.execute("SELECT has_table_privilege(%s::text, 'INSERT')", (table,)).fetchone()
            if not (row and row[0]):
                raise psycopg.errors.InsufficientPrivilege(f"permission denied to INSERT into {table}")
    except TargetError:
        raise
    except psycopg.Error as exc:
        raise _table_error(table, exc) from None


def _create(conn: psycopg.Connection, table: str, identifier: sql.Identifier) -> None:
    if not _exists(conn, table):
        # IF NOT EXISTS alone does not cover two processes creating it at the same moment
        # (one fails on the table's row type): take turns. Not the migration lock's key,
        # which this process may hold on another connection.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"preflight audit table {table}",))
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(identifier, sql.SQL(_COLUMNS)))


def _table_error(table: str, exc: psycopg.Error) -> TargetError:
    return TargetError(
        f"cannot write the audit record to table {table}: {exception_line(exc)}",
        "check the schema exists and the target user may CREATE TABLE and INSERT there, or drop --audit-table",
    )


def read_table(conninfo: str, table: str, last: int = 20) -> list[AuditRecord]:
    """Return the last `last` records of the audit table, oldest first ([] while it does not exist)."""
    identifier = table_identifier(table)
    query = sql.SQL("SELECT detail FROM {} ORDER BY id DESC LIMIT %s").format(identifier)
    try:
        with _connect(conninfo, "preflight audit", options=READ_ONLY) as conn:
            if not _exists(conn, table):
                return []
            rows = conn.execute(query, (max(0, last),)).fetchall()
    except TargetError:
        raise
    except psycopg.Error as exc:
        raise TargetError(
            f"cannot read the audit table {table}: {exception_line(exc)}", "check the target user may SELECT from it"
        ) from None
    return [record for record in (_parse(row[0]) for row in reversed(rows)) if record is not None]


def _connect(conninfo: str, application_name: str, options: str | None = None) -> psycopg.Connection:
    try:
        return psycopg.connect(
            conninfo,
            autocommit=True,
            connect_timeout=10,
            application_name=application_name,
            options=options or "",
        )
    except psycopg.OperationalError as exc:
        raise connection_error(
            exc, describe_url(conninfo), "check host, port and network access to the target"
        ) from None
    except psycopg.ProgrammingError:
        raise TargetError("the target URL does not parse", "use postgresql://user@host:port/dbname") from None


def _exists(conn: psycopg.Connection, table: str) -> bool:
    # Unquoted names as PostgreSQL folds them; to_regclass finds the table the identifier names.
    match = TABLE_NAME.match(table)
    assert match is not None
    quoted = ".".join(f'"{part}"' for part in (match["schema"], match["name"]) if part)
    row = conn.execute("SELECT to_regclass(%s)", (quoted,)).fetchone()
    return row is not None and row[0] is not None


def records_to_json(records: Iterable[AuditRecord]) -> list[dict[str, Any]]:
    """Return records as JSON-ready dicts (the route's status answer)."""
    return [record.to_dict() for record in records]
