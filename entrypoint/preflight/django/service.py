"""The one module through which the route and the command reach the apply engine and the audit.

Public interface (the views and `preflight_migrate` use nothing else):

    Caller(who: str, origin: str, via: str)            via: "route" | "command"
    Outcome(result: str, applied: tuple[str, ...], error: str | None, pending: tuple[str, ...], backup: str | None)
    Status(pending: tuple[str, ...], audit: list[dict[str, object]])
    status(settings: conf.Settings, *, last: int = 20) -> Status
    apply(caller: Caller, settings: conf.Settings) -> Outcome            (audits the attempt)
    refuse(caller: Caller, settings: conf.Settings, reason: str) -> Outcome   (audits the refusal)
    audit_ready(settings: conf.Settings) -> str | None  (why no record could be written, or None)

`apply` runs `preflight apply`'s own pipeline (preflight.apply.pipeline) in this process:
checks, the gate, the migration lock (the CLI's key: the two exclude each other), the
verified backup (pg_dump on this host) unless PREFLIGHT_NO_BACKUP, each migration under
lock_timeout/statement_timeout with safe retries, the checks after it, and the audit
record (preflight.apply.audit), on Django's own connection (probe.inprocess). Outcome.result
is one of the audit results: "applied", "nothing-pending", "refused", "blocked", "locked",
"backup-failed", "failed", "unverified".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import psycopg
from django.db import connections

from preflight import secrets
from preflight.apply import audit, pipeline
from preflight.apply.pipeline import ApplyOptions
from preflight.config import FILENAME, Config, load
from preflight.django.conf import Settings
from preflight.errors import BackupError, ExitCode, LockedError, PreflightError
from preflight.probe.inprocess import InProcessEngine, site_project
from preflight.probe.protocol import DeploySettings
from preflight.progress import QuietProgress
from preflight.target.dumping import describe_url
from preflight.verdict import default_fail_on, verdict


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
    backup: str | None = None  # the verified backup taken before applying
    exit_code: int | None = None  # preflight_migrate's, as `preflight apply` would exit (None: 0)


@dataclass(frozen=True)
class Status:
    pending: tuple[str, ...]
    audit: list[dict[str, object]]


def status(settings: Settings, *, last: int = 20) -> Status:
    """Return the migrations pending on the site's database and the last `last` audit records."""
    with InProcessEngine(settings.database) as engine:
        pending = tuple(m.label for m in engine.plan().pending)
    return Status(pending, _read_audit(settings, last))


def refuse(caller: Caller, settings: Settings, reason: str) -> Outcome:
    """Audit a refused attempt (who, where from, why) and return its outcome."""
    conninfo = target_conninfo(settings.database)
    record = audit.AuditRecord(
        who=caller.who,
        origin=caller.origin,
        via=cast(audit.Via, caller.via),
        action="apply",
        result="refused",
        reason=reason,
        no_backup=settings.no_backup,
        target=describe_url(conninfo),
    )
    if settings.audit_log is not None:
        audit.append_jsonl(settings.audit_log, record)
    if settings.audit_table is not None:
        audit.append_table(conninfo, settings.audit_table, record)
    return Outcome("refused", error=reason)


def apply(caller: Caller, settings: Settings) -> Outcome:
    """Run the apply pipeline in this process (it audits the attempt); return what happened, never raise."""
    options = _options(caller, settings)
    try:
        report = pipeline.run(options, lambda: InProcessEngine(settings.database), QuietProgress())
    except LockedError as exc:
        return Outcome("locked", error=_one_line(exc.line()), exit_code=exc.exit_code)
    except BackupError as exc:
        return Outcome("backup-failed", error=_one_line(exc.line()), exit_code=exc.exit_code)
    except PreflightError as exc:
        return Outcome("failed", error=_one_line(exc.line()), exit_code=exc.exit_code)
    except Exception as exc:  # any failure becomes one line, never a traceback (the pipeline audited it)
        error = _one_line(f"apply failed: {type(exc).__name__}: {exc}")
        return Outcome("failed", error=error, exit_code=ExitCode.INTERNAL)
    deployment = report.deployment
    assert deployment is not None
    ending = verdict(report)
    applied = tuple(m.label for m in report.migrations if m.status == "applied")
    return Outcome(
        deployment.result,
        applied,
        _one_line(ending.line()) if ending is not None else None,
        tuple(deployment.pending_after) or tuple(m.label for m in report.migrations if m.status != "applied"),
        deployment.backup.path if deployment.backup else None,
        ending.exit_code if ending is not None else None,
    )


def audit_ready(settings: Settings) -> str | None:
    """Return why an audit record could not be written (before anything is applied), or None."""
    try:
        if settings.audit_log is not None:
            audit.check_jsonl(settings.audit_log)
        if settings.audit_table is not None:
            audit.check_table(target_conninfo(settings.database), settings.audit_table)
    except PreflightError as exc:
        return exc.cause
    return None


def target_conninfo(alias: str) -> str:
    """The libpq connection string of a database alias (its password registered as a secret)."""
    params = connections[alias].get_connection_params()
    keys = {"dbname", "user", "password", "host", "port", "sslmode", "sslrootcert", "sslcert", "sslkey",
            "options", "connect_timeout", "target_session_attrs", "service", "passfile"}  # fmt: skip
    named = {("dbname" if key == "database" else key): value for key, value in params.items()}  # Django: database
    values = {key: str(value) for key, value in named.items() if key in keys and value not in (None, "")}
    conninfo = psycopg.conninfo.make_conninfo(**values)
    secrets.register(values.get("password"))
    return conninfo


def _options(caller: Caller, settings: Settings) -> ApplyOptions:
    project = site_project()
    config_file = project.root / FILENAME
    config = load(config_file) if config_file.is_file() else Config()
    return ApplyOptions(
        target_url=target_conninfo(settings.database),
        project=project,
        backup_dir=None if settings.no_backup else settings.backup_dir,
        no_backup=settings.no_backup,
        wait_s=settings.lock_wait_seconds,
        deploy=DeploySettings(
            lock_timeout_ms=settings.lock_timeout_ms,
            statement_timeout_ms=settings.statement_timeout_ms,
            retries=settings.retries,
            backoff_ms=settings.backoff_ms,
            backoff_max_ms=settings.backoff_max_ms,
        ),
        config=config,
        fail_on=default_fail_on(config, gate=True),
        audit_log=settings.audit_log,
        audit_table=settings.audit_table,
        via=cast(audit.Via, caller.via),
        who=caller.who,
        origin=caller.origin,
    )


def _read_audit(settings: Settings, last: int) -> list[dict[str, object]]:
    if settings.audit_table is not None:
        records = audit.read_table(target_conninfo(settings.database), settings.audit_table, last)
    elif settings.audit_log is not None:
        records = audit.read_jsonl(settings.audit_log, last)
    else:
        records = []
    return audit.records_to_json(records)


def _one_line(text: str) -> str:
    return secrets.redact(" ".join(text.split()))
