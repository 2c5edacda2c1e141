"""Assemble the Report once, from the parsed probe answers, the evidence and the findings. Pure."""

from __future__ import annotations

import datetime
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from preflight import __version__
from preflight.evidence.measured import MigrationRun, RoundTrip, TestRun
from preflight.probe.protocol import (
    AppliedMigration,
    ApplyAnswer,
    ApplyFailure,
    MigrationSql,
    PendingMigration,
    PlanAnswer,
    SqlAnswer,
)
from preflight.report.feel import feel
from preflight.report.model import (
    Failure,
    Irreversible,
    Migration,
    Operation,
    Report,
    Rollback,
    Statement,
    Target,
)
from preflight.rules.base import Finding

if TYPE_CHECKING:  # only its root and settings are read: project.py's environment helpers stay out of here
    from preflight.project import Project

# The way back past a migration that cannot be unapplied. Never a real URL: the reader's own.
RESTORE_COMMAND = (
    'pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error -d "$DATABASE_URL" backup.dump'
)


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    if not Path(path).is_absolute():  # the probe already made it relative (see probe.display_path)
        return path
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def _failure(failure: ApplyFailure | None, root: Path) -> Failure | None:
    if failure is None:
        return None
    frame = failure.user_frame or failure.frame
    return Failure(
        migration=failure.migration,
        error=failure.error,
        type=failure.type,
        file=_relative(frame.file if frame else None, root),
        line=frame.line if frame else None,
        statement=failure.statement,
        sqlstate=failure.sqlstate,
        partially_applied=failure.partially_applied,
        operation=failure.operation.describe if failure.operation else None,
    )


def build_report(
    project: Project,
    plan: PlanAnswer,
    sql: SqlAnswer,
    applied: ApplyAnswer,
    runs: Sequence[MigrationRun],
    target_info: Target,
    scratch: tuple[str, str],
    timings: dict[str, float],
    *,
    findings: list[Finding],
    fail_on: str,
    trip: RoundTrip | None = None,
    tests: TestRun | None = None,
    probed_concurrency: bool = False,
) -> Report:
    """Assemble everything one preview found into its Report: the plan, its SQL, what the copy showed, the findings.

    `runs` are the evidence records of the pending migrations, in plan order (evidence.runs).
    """
    by_label = {run.label: run for run in runs}
    applied_by = {m.label: m for m in applied.migrations}
    migrations = [
        _migration(
            entry,
            sql.of(entry.app, entry.name),
            applied_by.get(entry.label),
            by_label[entry.label],
        )
        for entry in plan.pending
    ]
    irreversible = _irreversible(migrations, trip)
    rollback = _rollback(plan, migrations, irreversible)
    return Report(
        preflight_version=__version__,
        generated_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        project=project.root.name,
        settings=project.settings,
        django_version=plan.django,
        python_version=plan.python,
        target=target_info,
        scratch_provider=scratch[0],
        scratch_version=scratch[1],
        migrations=migrations,
        rollback=rollback,
        failure=_failure(applied.failure, project.root),
        irreversible=irreversible,
        restore_command=RESTORE_COMMAND if irreversible else None,
        timings=dict(timings),
        findings=findings,
        fail_on=fail_on,
        round_trip=trip,
        tests=tests,
        lock_timeout_ms=applied.lock_timeout_ms,
        probed_concurrency=probed_concurrency,
    )


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _irreversible(migrations: list[Migration], trip: RoundTrip | None) -> list[Irreversible]:
    """The pending migrations `migrate` cannot take back: measured by the round trip, or per their backwards SQL."""
    found: dict[str | None, Irreversible] = {}
    for migration in migrations:
        if migration.irreversible_per_sql:
            found[migration.label] = Irreversible(migration.label, _first_line(migration.backwards_error))
        elif not migration.reversible:
            operation = next((op.describe for op in migration.operations if not op.reversible), "an operation")
            found[migration.label] = Irreversible(migration.label, f"{operation} has no reverse")
    back = trip.backward if trip is not None else None
    if back is not None and back.status != "ok":
        # Measured on the copy: this is where `migrate` really stopped, and why.
        found[back.migration] = Irreversible(back.migration, _first_line(back.error), measured=True)
    order = {m.label: index for index, m in enumerate(migrations)}
    return sorted(found.values(), key=lambda entry: order.get(entry.migration or "", -1))


def _rollback(plan: PlanAnswer, migrations: list[Migration], irreversible: list[Irreversible]) -> list[Rollback]:
    """`migrate` commands that undo the plan, stopping short of every migration that cannot go back.

    A migration that cannot be unapplied stays applied, and so do the pending migrations
    it depends on (`migrate` would have to unapply it first). Each app goes back to its
    last pending migration that stays, or to where the plan started.
    """
    pending = [(m.app, m.name) for m in migrations]
    if any(entry.migration is None for entry in irreversible):
        return []  # the round trip failed without saying where: no `migrate` command is safe
    parents = {(n.app, n.name): list(n.parents) for n in plan.nodes}
    stuck = {entry.migration for entry in irreversible}
    todo = [key for key in pending if f"{key[0]}.{key[1]}" in stuck]
    stays: set[tuple[str, str]] = set()
    while todo:
        key = todo.pop()
        if key in stays or key not in pending:
            continue
        stays.add(key)
        todo.extend(parents.get(key, []))
    commands = []
    for app in reversed(list(dict.fromkeys(app for app, _ in pending))):
        names = [name for a, name in pending if a == app]
        kept = [name for name in names if (app, name) in stays]
        if kept and kept[-1] == names[-1]:
            continue  # the app's newest pending migration cannot be unapplied: nothing to do here
        to = kept[-1] if kept else plan.rollback[app]
        # Quoted: migration names come from the pull request and this line is copied into a shell.
        commands.append(Rollback(app, to, f"python manage.py migrate {shlex.quote(app)} {shlex.quote(to)}"))
    return commands


def _migration(
    entry: PendingMigration, sql: MigrationSql, applied: AppliedMigration | None, run: MigrationRun
) -> Migration:
    forwards, backwards = sql.forwards, sql.backwards
    statements = [
        Statement(
            s.sql, s.duration_ms, s.rows, s.count, s.params, s.internal, s.error, s.started_ms, s.operation, s.max_ms
        )
        for s in (applied.statements if applied else ())
    ]
    return Migration(
        app=entry.app,
        name=entry.name,
        file=entry.file,
        atomic=entry.atomic,
        reversible=entry.reversible,
        operations=[
            Operation(op.index, op.type, op.describe, op.line, op.reversible, op.elidable) for op in entry.operations
        ],
        forwards_sql=forwards.text,
        backwards_sql=backwards.text,
        backwards_error=backwards.error,
        backwards_after_forwards=backwards.after_forwards,
        status=run.status,
        duration_ms=run.duration_ms,
        statements=statements,
        statements_omitted=applied.statements_omitted if applied else 0,
        omitted_executions=applied.omitted_executions if applied else 0,
        omitted_ms=applied.omitted_ms if applied else 0.0,
        locks=run.locks,
        rewrites=run.rewrites,
        blocked=run.blocked,
        feel=feel(run.status, entry.atomic, run.locks, run.rewrites, run.blocked, run.row_holds),
    )
