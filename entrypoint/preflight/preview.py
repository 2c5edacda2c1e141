"""The preview pipeline: throwaway server -> copy of the target -> probe -> Report.

`preview(options, progress)` is the one path every entry point takes (the CLI's
`preview`, `demo`, and later the gate and the Action). It never writes to the target:
a URL target is only read through pg_dump in a read-only session.
"""

from __future__ import annotations

import datetime
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight import __version__, baseline, findings, postgres, target
from preflight.config import ApprovalRule, Config
from preflight.errors import ProjectError
from preflight.evidence import catalog
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.probe.runner import Project
from preflight.progress import Progress
from preflight.report.model import Failure, Migration, Operation, Report, Rollback, Statement, Target
from preflight.rules.needs import needs


@dataclass
class PreviewOptions:
    project: Project
    target_url: str | None = None
    target_dump: Path | None = None
    base_ref: str | None = None
    postgres: str = "auto"
    pg_bin: str | None = None
    pg_user: str | None = None
    image: str | None = None
    jobs: int = os.cpu_count() or 2
    config: Config = field(default_factory=Config)
    approvals: list[ApprovalRule] = field(default_factory=list)  # --approve, PR labels
    fail_on: str = "never"


class Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.monotonic() - started, 3)


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0]) if version else None
    except ValueError:
        return None


def preview(options: PreviewOptions, progress: Progress) -> Report:
    """Run the whole preview and return its Report (a failed migration is in the Report)."""
    timer = Timer()
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="preflight-")))
        facts = None
        dump = options.target_dump
        if options.target_url:
            dump = tmp / "target.dump"
            with progress.step(f"dumping {target.describe_url(options.target_url)} (read-only)"), timer.phase("dump"):
                facts = target.dump_url(options.target_url, dump, options.pg_bin)
        source_version = facts.server_version if facts else None
        if dump is not None and facts is None:
            # Read the archive's header before starting the server: a container must
            # run the major version the data came from.
            source_version = target.inspect_dump(dump, options.pg_bin)[1]
        major = _major(source_version)
        with progress.step(f"starting throwaway PostgreSQL ({options.postgres})"), timer.phase("server"):
            server = stack.enter_context(
                postgres.start(
                    options.postgres, pg_bin=options.pg_bin, pg_user=options.pg_user, image=options.image, major=major
                )
            )
        template, target_info = _prepare_template(options, server, dump, facts, timer, progress)
        with timer.phase("copy"):
            copy = server.create_database("copy", template=template)
        url = server.info.url(copy)
        with progress.step("reading the migration plan"), timer.phase("plan"):
            plan = runner.run(options.project, "plan", url)
        if plan["conflicts"]:
            raise runner.error_from({"kind": "conflict", "message": _conflicts(plan["conflicts"])}, options.project)
        pending = plan["pending"]
        with progress.step("collecting SQL (sqlmigrate)", total=len(pending) or None) as step, timer.phase("sql"):
            sql = runner.run(options.project, "sql", url, on_progress=lambda e: step.advance(e["migration"]))
        with progress.step("checking the SQL against the rules"), timer.phase("rules"):
            found = _findings(options, server, copy, plan, sql, data_known=target_info.source in ("url", "dump"))
        with progress.step("applying to the copy", total=len(pending) or None) as step, timer.phase("apply"):
            applied = runner.run(options.project, "apply", url, on_progress=lambda e: step.advance(e["migration"]))
    timer.phases["total"] = round(time.monotonic() - started, 3)
    report = build_report(options.project, plan, sql, applied, target_info, server, timer.phases)
    report.findings, report.fail_on = found, options.fail_on
    return report


def _findings(
    options: PreviewOptions, server: Server, copy: str, plan: dict[str, Any], sql: dict[str, Any], data_known: bool
) -> list[findings.Finding]:
    """Run the rules over the pending SQL with facts read from the copy before it changes."""
    units = findings.units(plan, sql)
    with server.connect(copy) as conn:
        facts = catalog.fetch(conn, needs(findings.statements(units)), data_known=data_known)
    inline = findings.inline_approvals(plan, options.project.root)
    return findings.analyze(units, facts, options.config, [*inline, *options.approvals], plan.get("missing_migrations"))


def _conflicts(conflicts: dict[str, list[str]]) -> str:
    return "conflicting migrations: " + "; ".join(
        f"{app} has leaves {', '.join(names)}" for app, names in sorted(conflicts.items())
    )


def _prepare_template(
    options: PreviewOptions,
    server: Server,
    dump: Path | None,
    facts: target.TargetFacts | None,
    timer: Timer,
    progress: Progress,
) -> tuple[str, Target]:
    """Return the template database every copy is cloned from, and what it holds."""
    if dump is not None:
        with progress.step(f"restoring {dump.name} (pg_restore -j {options.jobs})"), timer.phase("restore"):
            template, restored = target.restore(server, dump, options.pg_bin, options.jobs)
        source = facts or restored
        return template, Target(
            source=source.source,
            description=source.description,
            server_version=source.server_version or restored.server_version,
            size_bytes=source.size_bytes or restored.size_bytes,
            dump_format=restored.dump_format,
            dump_seconds=source.dump_seconds,
            restore_seconds=restored.restore_seconds,
        )
    template = server.create_database("template")
    if not options.base_ref:
        return template, Target(source="empty", description="empty database")
    with progress.step(f"migrating an empty database with the code at {options.base_ref}"), timer.phase("baseline"):
        with baseline.worktree(options.project.root, options.base_ref) as base_root:
            base = Project(root=base_root, settings=options.project.settings, python=options.project.python)
            result = runner.run(base, "apply", server.info.url(template))
        if result["failure"]:
            failure = result["failure"]
            raise ProjectError(
                f"the base code at {options.base_ref} failed to migrate an empty database: "
                f"{failure.get('migration')}: {str(failure.get('error', '')).splitlines()[0]}",
                "fix the base branch's migrations, or preview against --target-dump instead",
            )
    return template, Target(source="baseline", description=options.base_ref)


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
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
    server: Server,
    timings: dict[str, float],
) -> Report:
    """Merge the probe's plan, SQL and apply results into one Report."""
    sql_by = {(e["app"], e["name"]): e for e in sql["migrations"]}
    applied_by = {(e["app"], e["name"]): e for e in applied["migrations"]}
    migrations = []
    for entry in plan["pending"]:
        key = (entry["app"], entry["name"])
        forwards, backwards = sql_by[key]["forwards"], sql_by[key]["backwards"]
        run = applied_by.get(key, {})
        migrations.append(
            Migration(
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
                status=run.get("status", "not_run"),
                duration_ms=run.get("duration_ms"),
                statements=[
                    Statement(s["sql"], s["duration_ms"], s["rows"], s["count"], s["params"], s["internal"], s["error"])
                    for s in run.get("statements", [])
                ],
                statements_omitted=run.get("statements_omitted", 0),
            )
        )
    apps_in_order = list(dict.fromkeys(m.app for m in migrations))
    rollback = [
        Rollback(app, plan["rollback"][app], f"python manage.py migrate {app} {plan['rollback'][app]}")
        for app in reversed(apps_in_order)
    ]
    return Report(
        preflight_version=__version__,
        generated_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        project=project.root.name,
        settings=project.settings,
        django_version=plan.get("_django"),
        python_version=plan.get("_python"),
        target=target_info,
        scratch_provider=server.info.provider,
        scratch_version=server.info.version,
        migrations=migrations,
        rollback=rollback,
        failure=_failure(applied.get("failure"), project.root),
        timings=timings,
    )
