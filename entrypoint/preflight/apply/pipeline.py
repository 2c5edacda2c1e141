"""The apply pipeline: the safe sequence a careful team runs by hand, on the target itself.

    checks -> plan -> gate -> migration lock -> plan again -> backup -> deploy -> verify
           -> Report (with its Deployment) -> audit record

`run(options, engine, progress)` is the one path for `preflight apply` (the engine is a
ProbeSession: the project's interpreter, pointed at the target) and for the route and
`manage.py preflight_migrate` (an InProcessEngine: the running site's own Django). It
writes to the target only after every check passed, under the migration lock, with a
verified backup (unless --no-backup said otherwise, which the report and the audit
record say too); --dry-run stops after the gate, on a read-only session.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg

from preflight import __version__, approvals, findings, posttests
from preflight.apply import audit, backup, wayback
from preflight.apply.lock import MigrationLock
from preflight.config import ApprovalRule, Config
from preflight.errors import InterruptedError_, PreflightError, TargetError
from preflight.evidence import catalog, runs
from preflight.probe import protocol
from preflight.probe.errors import conflict_error
from preflight.progress import Progress, Timer
from preflight.project import Project
from preflight.report.build import build_report
from preflight.report.model import BackupFile, Deployment, Report, Target
from preflight.rules import engine as rules
from preflight.rules.gate import blocking
from preflight.rules.needs import needs
from preflight.target.dumping import READ_ONLY, connect_read_only, connection_error, describe_url
from preflight.verdict import blocked_error

# --rehearse: () -> (findings of `preflight gate` on a copy, the error that stops the apply or None)
Rehearsal = Callable[[], tuple[list[Any], PreflightError | None]]


class Engine(Protocol):
    """The verbs the pipeline asks of Django: a probe session or the site's own process."""

    def plan(self, to: list[str] | None = None) -> protocol.PlanAnswer: ...

    def sql(self, to: list[str] | None = None, on_progress: Any = None) -> protocol.SqlAnswer: ...

    def deploy(self, settings: protocol.DeploySettings, on_progress: Any = None) -> protocol.DeployAnswer: ...

    def verify(self) -> protocol.VerifyAnswer: ...


@dataclass
class ApplyOptions:
    target_url: str
    project: Project | None = None  # the route's: the running site's folder, settings and interpreter
    backup_dir: Path | None = None
    no_backup: bool = False
    wait_s: float = 300.0  # for another apply's migration lock
    deploy: protocol.DeploySettings = field(default_factory=lambda: protocol.DeploySettings())
    config: Config = field(default_factory=Config)
    approvals: list[ApprovalRule] = field(default_factory=list)
    fail_on: str = "dangerous"
    test_command: str | None = None
    audit_log: Path | None = None
    audit_table: str | None = None
    dry_run: bool = False
    # --rehearse: the gate is `preflight gate` itself, on a throwaway copy (read-only pg_dump of
    # the target): measured findings (locks held, rewrites, the round trip, data) as well.
    rehearse: bool = False
    postgres: str = "auto"  # where the rehearsal's copy runs
    pg_user: str | None = None
    image: str | None = None
    via: audit.Via = "cli"  # cli | action | route | command
    who: str | None = None  # default: audit.who_and_where()
    origin: str | None = None
    pg_bin: str | None = None
    # The project's sessions on the target are named so (session_url), to be stopped if the run is.
    session_name: str = field(default_factory=lambda: f"preflight apply {uuid.uuid4().hex[:12]}")


@dataclass
class _Run:
    """What the run learned so far, for the report and the audit record whatever way it ends."""

    result: str = "failed"
    reason: str | None = None
    labels: list[str] = field(default_factory=list)
    backup: backup.Backup | None = None
    doing: str = "starting"  # for the line an interruption ends with


def session_url(options: ApplyOptions) -> str:
    """The URL the project's Django gets: the target's (as a URL), named after this run, read-only for --dry-run.

    The name (application_name) is how the run finds its sessions to stop them when it is
    interrupted: the project's Django runs in a child process the server cannot see end.
    """
    url = options.target_url if "://" in options.target_url else _as_url(options.target_url)
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query)
    query = [(key, value) for key, value in pairs if key not in ("application_name", "options")]
    query.append(("application_name", options.session_name))
    # One options parameter: the URL's own (a search_path) and, for --dry-run, the read-only session.
    settings = [value for key, value in pairs if key == "options"] + ([READ_ONLY] if options.dry_run else [])
    if settings:
        query.append(("options", " ".join(settings)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _as_url(conninfo: str) -> str:
    """A libpq key=value string as the postgresql:// URL the probe's settings read."""
    params = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(conninfo).items() if v is not None}
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", None)
    credentials = f"{user}:{quote(password, safe='')}@" if password is not None else (f"{user}@" if user else "")
    host = params.pop("host", "")
    if host.startswith("/"):  # a socket directory goes in the query, where the probe's settings read it
        params["host"], host = host, ""
    port = params.pop("port", "")
    netloc = f"{credentials}{host}{':' + port if port else ''}"
    database = quote(params.pop("dbname", ""), safe="")
    return urlunsplit(("postgresql", netloc, f"/{database}", urlencode(params, quote_via=quote), ""))


def run(
    options: ApplyOptions,
    open_engine: Callable[[], AbstractContextManager[Engine]],
    progress: Progress,
    rehearsal: Rehearsal | None = None,
) -> Report:
    """Apply the pending migrations to the target; return the Report. Every way it ends is audited.

    `open_engine` starts Django pointed at the target (a probe session, or the site's own
    process); its failure to start is audited like any other end. `rehearsal` (--rehearse,
    built at the edge: preflight.applying) replaces the static gate's findings with those of
    `preflight gate` on a throwaway copy, or returns why the copy refused the migrations.
    """
    started = time.monotonic()
    state = _Run()
    if options.audit_log is not None:
        audit.check_jsonl(options.audit_log)  # an audit trail that cannot be written stops the run first
    if options.audit_table and not options.dry_run:
        audit.check_table(options.target_url, options.audit_table)
    if options.backup_dir is not None:
        backup.check_directory(options.backup_dir)
    try:
        with open_engine() as engine:
            report = _run(options, engine, progress, state, rehearsal)
    except KeyboardInterrupt:
        state.reason = f"interrupted by Ctrl-C while {state.doing}"
        _audit(options, state, started, progress)
        raise InterruptedError_(state.reason, _INTERRUPTED_FIX) from None
    except InterruptedError_ as exc:  # SIGTERM
        state.reason = f"{exc.cause} while {state.doing}"
        _audit(options, state, started, progress)
        raise InterruptedError_(state.reason, _INTERRUPTED_FIX) from None
    except PreflightError as exc:
        state.reason = exc.line()
        _audit(options, state, started, progress)
        raise
    except BaseException as exc:
        state.reason = f"{type(exc).__name__}: {exc}"[:300]
        _audit(options, state, started, progress)
        raise
    assert report.deployment is not None
    where = _audit(options, state, started, progress)
    return dataclasses.replace(report, deployment=dataclasses.replace(report.deployment, audit=where))


_INTERRUPTED_FIX = (
    "its database sessions were stopped before the migration lock was released; "
    "the audit record and `showmigrations` say what was applied"
)


def _run(options: ApplyOptions, engine: Engine, progress: Progress, state: _Run, rehearsal: Rehearsal | None) -> Report:
    timer = Timer()
    project = options.project
    assert project is not None  # the CLI's, or the running site's (the route)
    description = describe_url(options.target_url)
    with progress.step(f"checking that {description} answers (read-only)"), timer.phase("check"):
        version = _server_version(options.target_url, description)
    state.doing = f"reading the migration plan of {description}"
    with progress.step(state.doing), timer.phase("plan"):
        plan = engine.plan()
    if plan.conflicts:
        state.result = "refused"
        raise conflict_error(plan.conflicts, project)
    state.labels = _labels(plan)
    if not plan.pending:
        state.result = "nothing-pending"
        return _report(options, version, plan, None, None, [], timer, _deployment(options, "nothing-pending"))
    plan, sql, found = _gate_plan(options, engine, plan, progress, timer, description)
    if rehearsal is not None:  # --rehearse: `preflight gate` on a copy, its findings instead
        with timer.phase("rehearse"):
            found, rehearsal_error = rehearsal()
        if rehearsal_error is not None:  # nothing was applied to the target
            state.result = "blocked"
            raise rehearsal_error
    stopping = blocking(found, options.fail_on)
    if stopping or options.dry_run:
        state.result = "blocked" if stopping else "dry-run"
        state.reason = blocked_error(stopping, options.fail_on).cause if stopping else None
        return _report(options, version, plan, sql, None, found, timer, _deployment(options, state.result))
    state.result, state.doing = "locked", "waiting for the migration lock (nothing was applied)"

    def waiting(holder: str) -> None:
        progress.log(f"waiting for the migration lock (up to {options.wait_s:g} s): {holder}")

    with MigrationLock(options.target_url, options.wait_s, on_wait=waiting) as lock:
        state.result = "failed"
        timer.phases["lock"] = round(lock.waited_seconds, 3)
        # Under the lock, the plan again: a deploy that held it may have applied some or all.
        again = engine.plan()
        state.labels = _labels(again)
        if not again.pending:
            state.result = "nothing-pending"
            deployment = _deployment(options, "nothing-pending", lock_waited_s=lock.waited_seconds)
            return _report(options, version, again, None, None, found, timer, deployment)
        if _labels(again) != _labels(plan):  # what is applied now is not what the gate checked: check it
            plan, sql, found = _gate_plan(options, engine, again, progress, timer, description)
            stopping = blocking(found, options.fail_on)
            if stopping:
                state.result, state.reason = "blocked", blocked_error(stopping, options.fail_on).cause
                deployment = _deployment(options, "blocked", lock_waited_s=lock.waited_seconds)
                return _report(options, version, plan, sql, None, found, timer, deployment)
        if not options.no_backup:
            assert options.backup_dir is not None
            with progress.step(f"backing up {description} (pg_dump -Fc, read-only)"), timer.phase("backup"):
                state.result, state.doing = "backup-failed", "backing up (nothing was applied)"
                state.backup = backup.take(
                    options.target_url, options.backup_dir, options.pg_bin, description=description
                )
            progress.log(f"backup verified: {state.backup.path} ({state.backup.size_bytes:,} bytes)")
        lock.check()  # still ours after the backup: no other apply can be migrating
        state.result = "failed"
        with progress.step(f"applying to {description}", total=len(plan.pending)) as step, timer.phase("apply"):
            state.doing = f"applying the migrations to {description}"
            try:
                deployed = engine.deploy(options.deploy, on_progress=_deploy_progress(step, progress, state))
            except BaseException:
                # The project's Django is a child the server cannot see die: its session would go
                # on migrating, locks held, after the migration lock is released. Stop it first.
                state.doing += _stop_sessions(options.target_url, options.session_name)
                raise
        state.doing = "verifying"
        verified = tests = None
        if deployed.failure is None:
            state.result = "unverified"  # applied: what fails from here on fails the checks, not the migrations
            with progress.step("verifying: showmigrations, check"), timer.phase("verify"):
                verified = engine.verify()
            if options.test_command and options.project is not None:
                with progress.step(f"running {options.test_command}"), timer.phase("tests"):
                    tests = posttests.run(options.project, options.test_command, options.target_url)
    state.labels = list(deployed.applied)  # the record names what was applied; the reason, what failed
    state.result, state.reason = _outcome(deployed, verified, tests)
    deployment = _deployment(
        options,
        state.result,
        lock_waited_s=lock.waited_seconds,
        backup_file=state.backup,
        deployed=deployed,
        verified=verified,
    )
    return _report(options, version, plan, sql, deployed, found, timer, deployment, tests=tests)


def _deploy_progress(step: Any, progress: Progress, state: _Run) -> Callable[[dict[str, Any]], None]:
    """Advance the step once per migration; say each retry and each INVALID index dropped."""

    def on_event(event: dict[str, Any]) -> None:
        kind, migration = event.get("event"), str(event.get("migration", ""))
        if kind == "deploy" and int(event.get("attempt") or 1) == 1:
            state.doing = f"applying {migration}"
            step.advance(migration)
        elif kind == "retry":
            progress.log(
                f"{migration}: lock timeout; try {int(event.get('attempt') or 0) + 1} of "
                f"{event.get('attempts')} in {float(event.get('backoff_ms') or 0) / 1000:.1f} s"
            )
        elif kind == "drop_invalid_index":
            progress.log(f"dropping the INVALID index {event.get('index')} an interrupted build left")

    return on_event


def _stop_sessions(url: str, name: str, grace_s: float = 10.0) -> str:
    """Cancel, then end, the target's sessions named `name`; return what was done, for the message."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="preflight apply stop") as conn:
            mine = "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()"
            pids = [row[0] for row in conn.execute(mine, [name])]
            if not pids:
                return ""
            conn.execute("SELECT pg_cancel_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and conn.execute(mine, [name]).fetchall():
                conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])
                time.sleep(0.1)
            left = len(conn.execute(mine, [name]).fetchall())
    except psycopg.Error as exc:
        return f" (its session could not be stopped: {str(exc).strip().splitlines()[0]})"
    return f" (its session was stopped: {'still there' if left else 'an atomic migration rolled back'})"


def _labels(plan: protocol.PlanAnswer) -> list[str]:
    return [m.label for m in plan.pending]


def _gate_plan(
    options: ApplyOptions,
    engine: Engine,
    plan: protocol.PlanAnswer,
    progress: Progress,
    timer: Timer,
    description: str,
) -> tuple[protocol.PlanAnswer, protocol.SqlAnswer, list[Any]]:
    """The pending migrations' SQL and the gate's findings, for a plan their SQL agrees with.

    The plan and the SQL are two requests: a deploy that migrates the target between them
    (another apply, a `migrate` by hand) leaves SQL for fewer migrations than the plan. Read
    both again then; twice in a row is a target that keeps changing: stop, nothing applied.
    """
    for attempt in (1, 2):
        if attempt == 2:
            plan = engine.plan()
        with progress.step("collecting SQL (sqlmigrate)", total=len(plan.pending)) as step, timer.phase("sql"):
            sql = engine.sql(on_progress=lambda e: step.advance(e["migration"]))
        collected = {(m.app, m.name) for m in sql.migrations}
        if all((m.app, m.name) in collected for m in plan.pending):
            with progress.step("checking the SQL against the rules (the gate)"), timer.phase("rules"):
                return plan, sql, _gate(options, plan, sql)
    raise TargetError(
        f"the pending migrations of {description} changed while they were read: "
        "another deploy (or a `migrate` by hand) is migrating it",
        "run apply again once it has finished; the migration lock makes applies wait for each other",
    )


def _outcome(
    deployed: protocol.DeployAnswer, verified: protocol.VerifyAnswer | None, tests: Any
) -> tuple[str, str | None]:
    if deployed.failure is not None:
        first = (deployed.failure.error.strip().splitlines() or [deployed.failure.type])[0]
        return "failed", f"{deployed.failure.migration}: {first[:200]}"
    if deployed.after_error:
        return "unverified", f"after the migrations: {deployed.after_error[:200]}"
    if verified is not None and not verified.ok:
        what = [*(f"still pending: {label}" for label in verified.pending), *verified.errors]
        return "unverified", "; ".join(what)[:300]
    if tests is not None and not tests.passed:
        return "unverified", f"--test-command exited with {tests.exit_code}"
    return "applied", None


def _server_version(url: str, description: str) -> str:
    """The target's server version, from a read-only session: the check that the database answers."""
    try:
        with connect_read_only(url) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    except psycopg.OperationalError as exc:
        raise connection_error(exc, description, "check host, port and network access from this machine") from None


def _gate(options: ApplyOptions, plan: protocol.PlanAnswer, sql: protocol.SqlAnswer) -> list[Any]:
    """The gate's rules over the pending SQL, with facts read from the target in a read-only session."""
    units = findings.units(plan, sql)
    try:
        # Reading sizes and rows waits behind a session holding an ACCESS EXCLUSIVE lock: not for long.
        with psycopg.connect(options.target_url, autocommit=True, options=f"{READ_ONLY} -c lock_timeout=10s") as conn:
            facts = catalog.fetch(conn, needs(findings.statements(units)), data_known=True)
    except psycopg.errors.LockNotAvailable:
        raise TargetError(
            f"the gate could not read {describe_url(options.target_url)}: a session has held a lock "
            "on a table the pending migrations change for 10 s",
            "find it in pg_stat_activity (a long transaction, or another migration), then apply again",
        ) from None
    facts.lock_timeout_ms = options.deploy.lock_timeout_ms or None  # apply sets it on every statement
    facts.where = "the target"
    found = rules.run(units, facts, options.config.settings, missing_migrations=plan.missing_migrations)
    inline = findings.inline_approvals(plan, options.project.root) if options.project is not None else []
    return approvals.apply(found, [*options.config.approvals, *inline, *options.approvals])


def _deployment(
    options: ApplyOptions,
    result: str,
    *,
    lock_waited_s: float | None = None,
    backup_file: backup.Backup | None = None,
    deployed: protocol.DeployAnswer | None = None,
    verified: protocol.VerifyAnswer | None = None,
) -> Deployment:
    settings = options.deploy
    return wayback.deployment(
        Deployment(
            result=result,
            via=options.via,
            lock_timeout_ms=settings.lock_timeout_ms,
            statement_timeout_ms=settings.statement_timeout_ms,
            retries=settings.retries,
            backoff_ms=settings.backoff_ms,
            lock_waited_s=None if lock_waited_s is None else round(lock_waited_s, 3),
            backup=_backup_file(backup_file),
            no_backup=options.no_backup,
            rehearsed=options.rehearse,
            pending_after=list(verified.pending) if verified else _not_applied(deployed),
            check_errors=list(verified.errors) if verified else [],
            check_warnings=list(verified.warnings) if verified else [],
        ),
        deployed,
    )


def _not_applied(deployed: protocol.DeployAnswer | None) -> list[str]:
    """After a failure (no verify ran): the migrations still pending, the failed one first."""
    return [m.label for m in deployed.migrations if m.status != "applied"] if deployed else []


def _backup_file(taken: backup.Backup | None) -> BackupFile | None:
    if taken is None:
        return None
    return BackupFile(
        str(taken.path), taken.size_bytes, round(taken.seconds, 3), dict(taken.objects), taken.restore_command
    )


def _report(
    options: ApplyOptions,
    version: str,
    plan: protocol.PlanAnswer,
    sql: protocol.SqlAnswer | None,
    deployed: protocol.DeployAnswer | None,
    found: list[Any],
    timer: Timer,
    deployment: Deployment,
    tests: Any = None,
) -> Report:
    """The Report of the preview and the gate, with what happened on the target in its Deployment."""
    sql = sql or protocol.SqlAnswer(())
    applied = wayback.as_applied(deployed)
    target = Target(source="url", description=describe_url(options.target_url), server_version=version)
    assert options.project is not None  # the CLI's, or the running site's (the route)
    report = build_report(
        options.project,
        plan,
        sql,
        applied,
        runs.runs(applied, plan),
        target,
        ("target", version),
        timer.phases,
        findings=found,
        fail_on=options.fail_on,
        tests=tests,
    )
    return wayback.with_restore(dataclasses.replace(report, deployment=deployment))


def _audit(options: ApplyOptions, state: _Run, started: float, progress: Progress) -> list[str]:
    """Append the run's audit record to --audit-log and --audit-table; say where it went."""
    who, origin = audit.who_and_where()
    record = audit.AuditRecord(
        who=options.who or who,
        origin=options.origin or origin,
        via=options.via,
        action="dry-run" if options.dry_run else "apply",
        result=cast(audit.Result, state.result),
        reason=state.reason,
        migrations=tuple(state.labels),
        backup=str(state.backup.path) if state.backup else None,
        backup_bytes=state.backup.size_bytes if state.backup else None,
        no_backup=options.no_backup,
        target=describe_url(options.target_url),
        duration_ms=round((time.monotonic() - started) * 1000.0, 1),
        preflight_version=__version__,
    )
    where: list[str] = []
    if options.audit_log is not None:
        audit.append_jsonl(options.audit_log, record)
        where.append(f"file {options.audit_log}")
    if options.audit_table and options.dry_run:
        progress.log(f"--dry-run writes nothing to the target: the audit table {options.audit_table} was left alone")
    elif options.audit_table:
        try:
            audit.append_table(options.target_url, options.audit_table, record)
            where.append(f"table {options.audit_table}")
        except PreflightError as exc:  # the record still went to the file: say so, do not hide the run's own end
            progress.log(f"the audit table was not written: {exc.line()}")
    return where
