"""Turn the probe's JSON (plan, sql, apply) into a Report. Pure."""

from __future__ import annotations

import datetime
import shlex
from pathlib import Path
from typing import Any

from preflight import __version__
from preflight.evidence.measured import Executed, FailureFacts, MigrationRun, RoundTrip
from preflight.probe.protocol import OperationRef
from preflight.project import Project
from preflight.report.feel import feel
from preflight.report.model import (
    Blocked,
    Failure,
    Irreversible,
    Lock,
    Migration,
    Operation,
    Report,
    Rewrite,
    Rollback,
    Statement,
    Target,
)
from preflight.rules.row_locks import row_holds

# The way back past a migration that cannot be unapplied. Never a real URL: the reader's own.
RESTORE_COMMAND = 'pg_restore --clean --if-exists --no-owner -d "$DATABASE_URL" backup.dump'


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    if not Path(path).is_absolute():  # the probe already made it relative (see probe.display_path)
        return path
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def _failure(failure: dict[str, Any] | None, root: Path) -> Failure | None:
    if not failure:
        return None
    frame = failure.get("user_frame") or failure.get("frame") or {}
    return Failure(
        migration=failure["migration"],
        error=failure.get("error", ""),
        type=failure.get("type", "Error"),
        file=_relative(frame.get("file"), root),
        line=frame.get("line"),
        statement=failure.get("statement"),
        sqlstate=failure.get("sqlstate"),
        partially_applied=bool(failure.get("partially_applied")),
        operation=(failure.get("operation") or {}).get("describe"),
    )


def build_report(
    project: Project,
    plan: dict[str, Any],
    sql: dict[str, Any],
    applied: dict[str, Any],
    target_info: Target,
    scratch: tuple[str, str],
    timings: dict[str, float],
    blocked: dict[str, list[Blocked]] | None = None,
    trip: RoundTrip | None = None,
) -> Report:
    """Merge the probe's plan, SQL and apply results (and measured blocking, the round trip) into one Report."""
    sql_by = {(e["app"], e["name"]): e for e in sql["migrations"]}
    applied_by = {(e["app"], e["name"]): e for e in applied["migrations"]}
    migrations = [
        _migration(
            entry,
            sql_by[(entry["app"], entry["name"])],
            applied_by.get((entry["app"], entry["name"]), {}),
            (blocked or {}).get(f"{entry['app']}.{entry['name']}", []),
        )
        for entry in plan["pending"]
    ]
    irreversible = _irreversible(migrations, trip)
    rollback = _rollback(plan, migrations, irreversible)
    return Report(
        preflight_version=__version__,
        generated_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        project=project.root.name,
        settings=project.settings,
        django_version=plan.get("_django"),
        python_version=plan.get("_python"),
        target=target_info,
        scratch_provider=scratch[0],
        scratch_version=scratch[1],
        migrations=migrations,
        rollback=rollback,
        failure=_failure(applied.get("failure"), project.root),
        irreversible=irreversible,
        restore_command=RESTORE_COMMAND if irreversible else None,
        timings=timings,
        lock_timeout_ms=applied.get("lock_timeout_ms"),
        probed_concurrency=blocked is not None,
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


def _rollback(plan: dict[str, Any], migrations: list[Migration], irreversible: list[Irreversible]) -> list[Rollback]:
    """`migrate` commands that undo the plan, stopping short of every migration that cannot go back.

    A migration that cannot be unapplied stays applied, and so do the pending migrations
    it depends on (`migrate` would have to unapply it first). Each app goes back to its
    last pending migration that stays, or to where the plan started.
    """
    pending = [(m.app, m.name) for m in migrations]
    if any(entry.migration is None for entry in irreversible):
        return []  # the round trip failed without saying where: no `migrate` command is safe
    parents = {(n["app"], n["name"]): [tuple(p) for p in n["parents"]] for n in plan.get("nodes", [])}
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
        to = kept[-1] if kept else plan["rollback"][app]
        # Quoted: migration names come from the pull request and this line is copied into a shell.
        commands.append(Rollback(app, to, f"python manage.py migrate {shlex.quote(app)} {shlex.quote(to)}"))
    return commands


def _migration(entry: dict[str, Any], sql: dict[str, Any], run: dict[str, Any], blocked: list[Blocked]) -> Migration:
    forwards, backwards = sql["forwards"], sql["backwards"]
    locks = [
        Lock(
            lk["relation"],
            lk["mode"],
            lk["held_ms"],
            lk["statement"],
            lk.get("operation"),
            lk.get("new_in_plan", False),
            lk.get("kind", "r"),
        )
        for lk in run.get("locks", [])
    ]
    rewrites = [
        Rewrite(
            rw["relation"],
            rw["kind"],
            rw.get("before_bytes"),
            rw.get("after_bytes"),
            rw["statement"],
            rw.get("operation"),
            rw.get("new_in_plan", False),
        )
        for rw in run.get("rewrites", [])
    ]
    status = run.get("status", "not_run")
    statements = [
        Statement(
            s["sql"],
            s["duration_ms"],
            s["rows"],
            s["count"],
            s["params"],
            s["internal"],
            s["error"],
            s.get("started_ms", 0.0),
            s.get("operation"),
            s.get("max_ms"),
        )
        for s in run.get("statements", [])
    ]
    holds = row_holds(statements, entry["atomic"], run.get("duration_ms"), locks) if status != "not_run" else []
    return Migration(
        app=entry["app"],
        name=entry["name"],
        file=entry["file"],
        atomic=entry["atomic"],
        reversible=entry["reversible"],
        operations=[
            Operation(op["index"], op["type"], op["describe"], op["line"], op["reversible"], op["elidable"])
            for op in entry["operations"]
        ],
        forwards_sql=forwards.get("text"),
        backwards_sql=backwards.get("text"),
        backwards_error=backwards.get("error"),
        backwards_after_forwards=bool(backwards.get("after_forwards")),
        status=status,
        duration_ms=run.get("duration_ms"),
        statements=statements,
        statements_omitted=run.get("statements_omitted", 0),
        omitted_executions=run.get("omitted_executions", 0),
        omitted_ms=run.get("omitted_ms", 0.0),
        locks=locks,
        rewrites=rewrites,
        blocked=blocked,
        feel=feel(status, entry["atomic"], locks, rewrites, blocked, holds),
    )


def runs(
    report: Report, plan: dict[str, Any], failure: FailureFacts | None, captured: bool = False
) -> list[MigrationRun]:
    """What each migration did on the copy, as the evidence rules read it (`captured`: locks were read)."""
    operations = {
        (m["app"], m["name"]): [
            OperationRef(op["index"], op["type"], op["describe"], op["line"], op.get("end_line"), op["reversible"])
            for op in m["operations"]
        ]
        for m in plan["pending"]
    }
    result = []
    for migration in report.migrations:
        failed = report.failure is not None and report.failure.migration == migration.label
        failed_op = next((s.operation for s in migration.statements if s.error), None) if failed else None
        result.append(
            MigrationRun(
                app=migration.app,
                name=migration.name,
                file=migration.file,
                atomic=migration.atomic,
                status=migration.status,
                duration_ms=migration.duration_ms,
                operations=operations[(migration.app, migration.name)],
                statements=[(s.sql, s.duration_ms, s.operation) for s in migration.statements],
                locks=migration.locks,
                rewrites=migration.rewrites,
                blocked=migration.blocked,
                executed=[
                    Executed(s.sql, s.duration_ms, s.rows, s.count, s.started_ms, s.operation, s.internal, s.max_ms)
                    for s in migration.statements
                ],
                failure=failure if failed else None,
                failed_statement=report.failure.statement if failed and report.failure else None,
                failed_operation=failed_op,
                captured=captured,
            )
        )
    return result
