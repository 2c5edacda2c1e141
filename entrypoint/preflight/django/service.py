"""The one module through which the route and the command reach the apply engine and the audit.

Public interface (the views and `preflight_migrate` use nothing else):

    Caller(who: str, origin: str, via: str)            via: "route" | "command"
    Outcome(result: str, applied: tuple[str, ...], error: str | None, pending: tuple[str, ...])
    Status(pending: tuple[str, ...], audit: list[dict[str, object]])
    status(settings: conf.Settings, *, last: int = 20) -> Status
    apply(caller: Caller, settings: conf.Settings) -> Outcome            (audits the attempt)
    refuse(caller: Caller, settings: conf.Settings, reason: str) -> Outcome   (audits the refusal)
    audit_ready(settings: conf.Settings) -> str | None  (why no record could be written, or None)

Outcome.result is one of the audit results: "applied", "nothing-pending", "refused",
"locked", "failed". Until preflight.apply lands here, `apply` runs Django's own `migrate`
in this process under the migration advisory lock, and the audit is written by the small
JSON-lines/table writer below with the field names of preflight.apply.audit.AuditRecord;
connecting the full pipeline (checks, gate, backup, deploy, verify) replaces `_run`'s
body with `pipeline.run(options, InProcessEngine(alias), progress)` and the writer with
preflight.apply.audit.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from preflight import __version__, secrets
from preflight.django.conf import Settings

# The session-level advisory lock every apply takes (the CLI's `preflight apply` takes the
# same one, preflight.apply.lock.KEY, so the two exclude each other): "pfapply" in ASCII.
LOCK_KEY = 0x7066_6170_706C_79


@dataclass(frozen=True)
class Caller:
    """Who asks (a user name, "bearer token", an OS user), from where (IP or host), through what."""

    who: str
    origin: str
    via: str  # "route" | "command"


@dataclass(frozen=True)
class Outcome:
    """What an apply attempt did: the result, the migrations applied, one error line if any."""

    result: str  # "applied" | "nothing-pending" | "refused" | "locked" | "failed"
    applied: tuple[str, ...] = ()
    error: str | None = None
    pending: tuple[str, ...] = ()  # what is still pending afterwards


@dataclass(frozen=True)
class Status:
    pending: tuple[str, ...]
    audit: list[dict[str, object]]


@dataclass(frozen=True)
class AuditRecord:
    """One attempt, as preflight.apply.audit.AuditRecord records it (same fields)."""

    at: str
    who: str
    origin: str
    via: str
    action: str
    result: str
    reason: str | None
    migrations: tuple[str, ...]
    backup: str | None
    backup_bytes: int | None
    no_backup: bool
    target: str
    duration_ms: float
    preflight_version: str

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "migrations": list(self.migrations)}


def status(settings: Settings, *, last: int = 20) -> Status:
    """Return the migrations pending on the site's database and the last `last` audit records."""
    return Status(_pending(settings.database), _read_audit(settings, last))


def refuse(caller: Caller, settings: Settings, reason: str) -> Outcome:
    """Audit a refused attempt (who, where from, why) and return its outcome."""
    outcome = Outcome("refused", error=reason)
    _audit(caller, settings, outcome, planned=(), started=time.monotonic())
    return outcome


def apply(caller: Caller, settings: Settings) -> Outcome:
    """Apply the pending migrations under the advisory lock, audit the attempt, return what happened."""
    started = time.monotonic()
    _register_secrets(settings.database)
    planned: tuple[str, ...] = ()
    try:
        planned = _pending(settings.database)
        outcome = _run(settings, planned)
    except Exception as exc:  # any failure becomes one audited line, never a traceback
        outcome = Outcome("failed", error=_one_line(f"apply failed: {type(exc).__name__}: {exc}"))
    _audit(caller, settings, outcome, planned=planned, started=started)
    return outcome


def audit_ready(settings: Settings) -> str | None:
    """Return why an audit record could not be written (before anything is applied), or None."""
    if settings.audit_log is not None:
        try:
            settings.audit_log.parent.mkdir(parents=True, exist_ok=True)
            with settings.audit_log.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            return f"cannot write the audit log {settings.audit_log}: {exc.strerror or exc}"
    return None


def _run(settings: Settings, planned: tuple[str, ...]) -> Outcome:
    connection = connections[settings.database]
    if not _lock(connection, settings.lock_wait_seconds):
        return Outcome("locked", error=_held_by(connection), pending=planned)
    try:
        planned = _pending(settings.database)  # again under the lock: another apply may have run
        if not planned:
            return Outcome("nothing-pending")
        try:
            call_command("migrate", database=settings.database, interactive=False, verbosity=0, stdout=io.StringIO())
        except Exception as exc:
            left = _pending(settings.database)
            failed = left[0] if left else "?"
            error = f"migration {failed} failed: {type(exc).__name__}: {exc}. Fix the migration and apply again"
            return Outcome("failed", _applied(planned, left), _one_line(error), left)
        left = _pending(settings.database)
        return Outcome("applied", _applied(planned, left), pending=left)
    finally:
        _unlock(connection)


def _lock(connection: Any, wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if cursor.fetchone()[0]:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _unlock(connection: Any) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    except DatabaseError:  # a broken session: closing it releases the lock
        connection.close()


def _held_by(connection: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF],
        )
        row = cursor.fetchone()
    holder = "another session" if row is None else f"pid {row[0]} ({row[1] or 'no application_name'}, {row[2]})"
    return f"another apply holds the migration lock: {holder}. Wait for it to finish, then apply again"


def _pending(alias: str) -> tuple[str, ...]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return tuple(f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards)


def _applied(planned: tuple[str, ...], left: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(label for label in planned if label not in left)


def _audit(caller: Caller, settings: Settings, outcome: Outcome, *, planned: tuple[str, ...], started: float) -> None:
    record = AuditRecord(
        at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        who=caller.who,
        origin=caller.origin,
        via=caller.via,
        action="apply",
        result=outcome.result,
        reason=outcome.error,
        migrations=outcome.applied if outcome.result == "applied" else planned,
        backup=None,
        backup_bytes=None,
        no_backup=settings.no_backup,
        target=_target(settings.database),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        preflight_version=__version__,
    )
    if settings.audit_log is not None:
        _append_jsonl(settings.audit_log, record)
    if settings.audit_table is not None:
        _append_table(settings.database, settings.audit_table, record)


def _append_jsonl(path: Path, record: AuditRecord) -> None:
    line = secrets.redact(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True)) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line with O_APPEND: concurrent workers never interleave within a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_table(alias: str, table: str, record: AuditRecord) -> None:
    connection = connections.create_connection(alias)  # its own session: outside any transaction of the apply
    try:
        name = ".".join(connection.ops.quote_name(part) for part in table.split("."))
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} (id bigserial PRIMARY KEY, at timestamptz NOT NULL,"
                " who text, origin text, via text, action text, result text, reason text, detail jsonb)"
            )
            data = record.to_json()
            columns = [data[key] for key in ("at", "who", "origin", "via", "action", "result", "reason")]
            cursor.execute(
                f"INSERT INTO {name} (at, who, origin, via, action, result, reason, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                [*columns, secrets.redact(json.dumps(data))],
            )
    finally:
        connection.close()


def _read_audit(settings: Settings, last: int) -> list[dict[str, object]]:
    if settings.audit_table is not None:
        connection = connections.create_connection(settings.database)
        name = ".".join(connection.ops.quote_name(part) for part in settings.audit_table.split("."))
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT detail FROM {name} ORDER BY id DESC LIMIT %s", [last])
                rows = [row[0] for row in cursor.fetchall()]
        except DatabaseError:  # not created yet: no attempt so far
            rows = []
        finally:
            connection.close()
        return [row if isinstance(row, dict) else json.loads(row) for row in reversed(rows)]
    if settings.audit_log is None or not settings.audit_log.exists():
        return []
    lines = settings.audit_log.read_text(encoding="utf-8", errors="replace").splitlines()[-last:]
    return [json.loads(line) for line in lines if line.strip()]


def _target(alias: str) -> str:
    params = connections[alias].settings_dict
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"{params.get('USER') or ''}@{host}{port}/{params.get('NAME')} (database alias {alias})"


def _register_secrets(alias: str) -> None:
    secrets.register(str(connections[alias].settings_dict.get("PASSWORD") or "") or None)


def _one_line(text: str) -> str:
    return secrets.redact(" ".join(text.split()))
