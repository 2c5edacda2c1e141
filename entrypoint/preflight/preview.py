"""The preview pipeline: throwaway server -> copy of the target -> probe -> Report.

`preview(options, progress)` is the one path every entry point takes (the CLI's
`preview`, `demo`, and later the gate and the Action). It never writes to the target:
a URL target is only read through pg_dump in a read-only session.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from preflight import approvals, baseline, disk, findings, janitor, postgres, posttests, target
from preflight.config import ApprovalRule, Config
from preflight.errors import InfrastructureError, InterruptedError_, PreflightError, ProjectError, TargetError
from preflight.evidence import catalog, runs
from preflight.evidence import failure as evidence_failure
from preflight.evidence.blocking import BlockingProbe, held_tables
from preflight.evidence.facts import Facts
from preflight.evidence.measured import Blocked
from preflight.postgres.base import Server, unique_name
from preflight.probe import protocol
from preflight.probe.errors import conflict_error
from preflight.probe.session import ProbeSession
from preflight.progress import Progress, Timer
from preflight.project import Project
from preflight.report.build import build_report
from preflight.report.model import Report, Target
from preflight.rules import engine
from preflight.rules.base import Finding
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
    lock_timeout: int | None = None  # ms, for every statement on the copy
    # ms that production's migrate will run with, when the caller sets it (apply --rehearse):
    # else what the project's settings or the target's own default say
    production_lock_timeout: int | None = None
    probe_concurrency: bool = False
    round_trip: bool = True
    test_command: str | None = None
    capture: bool = True  # read locks and rewrites after each statement
    # gate: stop when a given target has no django_migrations table (--allow-empty-target turns it off)
    refuse_empty_target: bool = False


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0]) if version else None
    except ValueError:
        return None


def preview(options: PreviewOptions, progress: Progress) -> Report:
    """Run the whole preview and return its Report (a failed migration is in the Report)."""
    timer = Timer()
    started = time.monotonic()
    project = options.project
    with ExitStack() as stack:
        for line in janitor.sweep_dirs():
            progress.log(f"removed what a killed run left: {line}")
        tmp = stack.enter_context(janitor.temp_dir("run"))
        url_facts = None
        dump = options.target_dump
        spec = postgres.resolve(options.postgres)
        source_version = None
        dumping = reader = None
        # What the target is made of is read while the server starts: pg_dump of a URL
        # (whose version is known before it starts), or a dump file's header, unless the
        # server is a container that must run the major version the file came from.
        if options.target_url:
            dump = tmp / "target.dump"
            with timer.phase("dump"):
                dumping = stack.enter_context(closing(target.start_dump_url(options.target_url, dump, options.pg_bin)))
            source_version = dumping.facts.server_version
        elif dump is not None:
            reader = stack.enter_context(closing(target.read_dump(dump, options.pg_bin)))
            if postgres.needs_major(spec, options.image):
                source_version = reader.result()[1]
        provider = postgres.start(
            spec, pg_bin=options.pg_bin, pg_user=options.pg_user, image=options.image, major=_major(source_version)
        )
        # One probe for the whole run, started as early as its URL is known: Django sets
        # itself up while the server starts (local: the URL is known before) and the dump
        # is restored into the copy; the plan request waits for it.
        copy_name = unique_name("copy")
        early_url = provider.url_ahead(copy_name)
        probe = stack.enter_context(ProbeSession(project, early_url, early=True)) if early_url else None
        with progress.step(f"starting throwaway PostgreSQL ({options.postgres})"), timer.phase("server"):
            try:
                server = stack.enter_context(provider)
            except PreflightError:
                if dumping is not None:
                    dumping.result()  # a failed pg_dump came first (a full disk fails it before initdb)
                raise
        if dumping is not None:
            with progress.step(f"dumping {dumping.facts.description} (read-only)"), timer.phase("dump"):
                url_facts = dumping.result()
        for line in server.swept:
            progress.log(f"removed what a killed run left: {line}")
        doing = Doing()
        stack.enter_context(_full_disk_named(server, doing))
        with timer.phase("server"):  # the one copy the run migrates, named before anything goes in
            copy = server.create_database("copy", name=copy_name)
        url = server.info.url(copy)
        if probe is None or url != early_url:
            if probe is not None:
                probe.close()  # the promised port was taken meanwhile: that probe has the wrong URL
            probe = stack.enter_context(ProbeSession(project, url, early=True))
        target_info = _prepare_copy(options, server, copy, dump, reader, url_facts, timer, progress)
        with progress.step("reading the migration plan"), timer.phase("plan"):
            plan = probe.plan()
        timer.phases["probe_start"] = probe.start_seconds or 0.0  # the run's one Django start
        if plan.conflicts:
            raise conflict_error(plan.conflicts, project)
        target_info = dataclasses.replace(target_info, has_migrations_table=plan.has_migrations_table)
        if target_info.lacks_migrations_table and options.refuse_empty_target:
            raise empty_target_error(target_info)
        pending = plan.pending
        # Read approval comments now: a malformed one must fail before the copy is migrated.
        approval_rules = [*options.config.approvals, *findings.inline_approvals(plan, project.root), *options.approvals]
        with progress.step("collecting SQL (sqlmigrate)", total=len(pending) or None) as step, timer.phase("sql"):
            sql = probe.sql(on_progress=lambda e: step.advance(e["migration"]))
        with progress.step("checking the SQL against the rules"), timer.phase("rules"):
            static, facts = _static_findings(options, server, copy, plan, sql, target_info, url_facts)
        applied, blocked = _apply(options, server, copy, probe, facts, len(pending), timer, progress, doing)
        _raise_if_full(server, applied.failure)
        failure_facts = None
        if applied.failure is not None:
            with server.connect(copy) as conn:
                failure_facts = evidence_failure.count(
                    conn, applied.failure.statement, applied.failure.sqlstate, applied.failure.error
                )
        tests = None
        if options.test_command and applied.failure is None:
            with progress.step(f"running {options.test_command}"), timer.phase("tests"):
                tests = posttests.run(project, options.test_command, url)
        trip = None
        if options.round_trip and pending and applied.failure is None:
            with (
                progress.step("round trip: back to where the plan started, then forward again"),
                timer.phase("round_trip"),
            ):
                back_to = [f"{app}.{to}" for app, to in plan.rollback.items()]
                doing.what = "the round trip on the copy"
                trip_answer = probe.roundtrip(back_to)
                _raise_if_full(server, trip_answer.backward, trip_answer.forward)
                trip = runs.round_trip(trip_answer)
                sql = sql.with_backwards(trip_answer.backwards_sql)
    timer.phases["total"] = round(time.monotonic() - started, 3)
    # Evidence, then findings (static and measured, settled, approvals applied), then the Report, once.
    ran = runs.runs(applied, plan, failure_facts, blocked)
    measured = engine.run_measured(ran, facts, options.config.settings, trip, plan.health)
    everything = engine.merge(engine.settle(static, ran), measured)
    return build_report(
        project,
        plan,
        sql,
        applied,
        ran,
        target_info,
        (server.info.provider, server.info.version),
        timer.phases,
        findings=approvals.apply(everything, approval_rules),
        fail_on=options.fail_on,
        trip=trip,
        tests=tests,
        probed_concurrency=blocked is not None,
    )


def empty_target_error(target_info: Target) -> TargetError:
    """The gate's refusal of a target without django_migrations (the report only warns)."""
    what = "database" if target_info.source == "url" else "dump"
    return TargetError(
        f"the target {what} {target_info.description} has no django_migrations table: "
        "probably not this project's database",
        "check --target-url/--target-dump, or pass --allow-empty-target if it is meant to be empty",
    )


def _static_findings(
    options: PreviewOptions,
    server: Server,
    copy: str,
    plan: protocol.PlanAnswer,
    sql: protocol.SqlAnswer,
    target_info: Target,
    url_facts: target.TargetFacts | None,
) -> tuple[list[Finding], Facts]:
    """Run the rules over the pending SQL with facts read from the copy before it changes."""
    units = findings.units(plan, sql)
    with server.connect(copy) as conn:
        facts = catalog.fetch(conn, needs(findings.statements(units)), data_known=target_info.source in ("url", "dump"))
    facts.lock_timeout_ms = (
        options.production_lock_timeout
        or timeout_ms(plan.lock_timeout_setting)
        or timeout_ms(url_facts.lock_timeout if url_facts else None)
    )
    found = engine.run(units, facts, options.config.settings, missing_migrations=plan.missing_migrations)
    return found, facts


def _apply(
    options: PreviewOptions,
    server: Server,
    copy: str,
    session: ProbeSession,
    facts: Facts,
    count: int,
    timer: Timer,
    progress: Progress,
    doing: Doing,
) -> tuple[protocol.ApplyAnswer, dict[str, list[Blocked]] | None]:
    """Apply the pending migrations; with --probe-concurrency, measure who waited meanwhile."""
    probe = None
    if options.probe_concurrency:
        probe = BlockingProbe(server.info.conninfo(copy), sorted(facts.tables)).start()
    starts: list[tuple[str, float]] = []
    with progress.step("applying to the copy", total=count or None) as step, timer.phase("apply"):

        def on_progress(event: dict[str, Any]) -> None:
            starts.append((event["migration"], time.monotonic()))
            doing.what = f"applying {event['migration']} on the copy"
            step.advance(event["migration"])

        doing.what = "migrating the copy"
        try:
            applied = session.apply(lock_timeout=options.lock_timeout, capture=options.capture, on_progress=on_progress)
        finally:
            ended = time.monotonic()
            if probe is not None:
                probe.stop()
        doing.what = "the throwaway server"
    if probe is None:
        return applied, None
    # Each migration's window ends where the next one starts, the last one's with the apply.
    # Nothing pending: no migration started, so no window either.
    windows = [*starts[1:], ("", ended)] if starts else []
    # A wait is the migration's only on a table it locked or named (else: the machine's noise).
    held = {m.label: held_tables(m) for m in applied.migrations}
    blocked = {
        label: probe.blocked(start, stop, held.get(label, set()))
        for (label, start), (_, stop) in zip(starts, windows, strict=True)
    }
    return applied, blocked


@dataclass
class Doing:
    """What the run is doing on the throwaway server, for naming a full disk."""

    what: str = "the throwaway server"


@contextmanager
def _full_disk_named(server: Server, doing: Doing) -> Iterator[None]:
    """Turn any failure that a full disk under the server caused into the full-disk error (exit 6).

    A full disk can take the server down mid-migration (a WAL write PANICs it): the probe
    then fails on its connection, and `doing` names the migration that filled it.
    """
    try:
        yield
    except (InfrastructureError, InterruptedError_):
        raise
    except (PreflightError, psycopg.Error) as exc:
        full = disk.server_full(server, doing.what, str(exc))
        if full is not None:
            raise full from None
        raise


def _raise_if_full(server: Server, *failures: protocol.ApplyFailure | protocol.StepAnswer | None) -> None:
    """A migration that failed for want of disk space on the copy is not the migration's fault."""
    for failure in failures:
        if failure is None or (isinstance(failure, protocol.StepAnswer) and failure.status == "ok"):
            continue
        if failure.sqlstate == disk.SQLSTATE or disk.server_full(server, "", str(failure.error)):
            what = f"applying {failure.migration} on the copy" if failure.migration else "migrating the copy"
            raise disk.full_error(what, server.disk)


def timeout_ms(value: str | None) -> int | None:
    """PostgreSQL's lock_timeout text ('5s', '500ms', '1min', '0') in milliseconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(ms|s|min|h)?\s*", str(value))
    if not match:
        return None
    return int(match.group(1)) * {None: 1, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}[match.group(2)]


def _prepare_copy(
    options: PreviewOptions,
    server: Server,
    copy: str,
    dump: Path | None,
    reader: target.DumpReader | None,
    facts: target.TargetFacts | None,
    timer: Timer,
    progress: Progress,
) -> Target:
    """Fill `copy` with the target (a restore, or the base code's migrations); return what it holds.

    Nothing later needs a second copy (--probe-concurrency and the round trip work on this
    one), so the data goes straight in: no template to clone.
    """
    if dump is not None:
        with timer.phase("restore"):
            # A dump file's header was read while the server started; a URL's dump pg_dump just made.
            header = reader.result() if reader is not None else None
            if header is None and facts is not None:
                header = facts.header
        tool = "psql" if header is not None and header[0] == "plain" else f"pg_restore -j {options.jobs}"
        with progress.step(f"restoring {dump.name} ({tool})"), timer.phase("restore"):
            _, restored = target.restore(server, dump, options.pg_bin, options.jobs, into=copy, header=header)
        source = facts or restored
        return Target(
            source=source.source,
            description=source.description,
            server_version=source.server_version or restored.server_version,
            size_bytes=source.size_bytes or restored.size_bytes,
            dump_format=restored.dump_format,
            dump_seconds=source.dump_seconds,
            restore_seconds=restored.restore_seconds,
        )
    if not options.base_ref:
        return Target(source="empty", description="empty database")
    with progress.step(f"migrating an empty database with the code at {options.base_ref}"), timer.phase("baseline"):
        with baseline.worktree(options.project.root, options.base_ref, progress.log) as base_root:
            base = dataclasses.replace(options.project, root=base_root)
            with ProbeSession(base, server.info.url(copy)) as base_probe:  # the base code's own Django
                result = base_probe.apply()
        _raise_if_full(server, result.failure)
        if result.failure is not None:
            failure = result.failure
            raise ProjectError(
                f"the base code at {options.base_ref} failed to migrate an empty database: "
                f"{failure.migration}: {(failure.error.splitlines() or [''])[0]}",
                "fix the base branch's migrations, or preview against --target-dump instead",
            )
    return Target(source="baseline", description=options.base_ref)
