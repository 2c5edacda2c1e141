"""The squash report's pipeline: throwaway server -> every migration from zero -> analysis -> SquashReport.

`squash_report(options, progress)` reads the project's whole history through one probe,
migrates a new database from zero on a throwaway server (the time per migration is what
a squash would save), and, when a target is given, restores it into a second database
only to read which migrations it recorded (the replaced files a squash can now drop).
With `verify`, each candidate is then squashed in a temporary copy of the project and
proven against the from-zero database (squash/verify.py) while the server still runs.
The target is only read: a URL through pg_dump's read-only session, as the preview does.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

from preflight import janitor, postgres, target
from preflight.errors import ProjectError
from preflight.postgres.base import Server
from preflight.probe.errors import conflict_error
from preflight.probe.protocol.history import HistoryAnswer
from preflight.probe.session import ProbeSession
from preflight.progress import Progress, Timer
from preflight.project import Project
from preflight.squash.analyse import analyse
from preflight.squash.model import SquashReport
from preflight.squash.verify import verify


@dataclass
class SquashOptions:
    project: Project
    target_url: str | None = None
    target_dump: Path | None = None
    postgres: str = "auto"
    pg_bin: str | None = None
    pg_user: str | None = None
    image: str | None = None
    jobs: int = os.cpu_count() or 2
    verify: bool = False  # squash each candidate in a temporary copy and prove it (squash/verify.py)


def squash_report(options: SquashOptions, progress: Progress) -> SquashReport:
    """Measure every migration from zero, read the target's record if given, and rank the squashes."""
    started = time.monotonic()
    timer = Timer()
    project = options.project
    with ExitStack() as stack:
        for line in janitor.sweep_dirs():
            progress.log(f"removed what a killed run left: {line}")
        tmp = stack.enter_context(janitor.temp_dir("squash"))
        with progress.step(f"starting throwaway PostgreSQL ({options.postgres})"), timer.phase("server"):
            server = stack.enter_context(
                postgres.start(
                    postgres.resolve(options.postgres),
                    pg_bin=options.pg_bin,
                    pg_user=options.pg_user,
                    image=options.image,
                )
            )
            zero = server.create_database("zero")
        probe = stack.enter_context(ProbeSession(project, server.info.url(zero)))
        with progress.step("reading every app's migrations"), timer.phase("history"):
            history = probe.history()
        if history.conflicts:
            raise conflict_error(history.conflicts, project)
        count = sum(len(app.migrations) for app in history.apps)
        with progress.step("migrating a new database from zero", total=count or None) as step, timer.phase("from_zero"):
            applied = probe.apply(capture=False, on_progress=lambda e: step.advance(e["migration"]))
        if applied.failure is not None:
            failure = applied.failure
            raise ProjectError(
                f"migrating a new database from zero fails at {failure.migration}: "
                f"{(failure.error.splitlines() or [''])[0]}",
                "a squash is measured from zero: fix that migration first",
            )
        durations = {m.label: m.duration_ms or 0.0 for m in applied.migrations}
        recorded = None
        description = None
        if options.target_url or options.target_dump:
            with timer.phase("target"):
                recorded, description = _target_history(options, server, tmp, progress, stack)
        apps, installed = analyse(history, durations, recorded)
        verifications = None
        if options.verify:
            with timer.phase("verify"):
                verifications = verify(apps, project, server, zero, progress)
    timer.phases["total"] = round(time.monotonic() - started, 3)
    return SquashReport(
        project=project.root.name,
        django=history.django,
        apps=apps,
        total_ms=round(sum(durations.values()), 3),
        target=description,
        unmigrated_apps=history.unmigrated_apps,
        installed=installed,
        timings=timer.phases,
        verifications=verifications,
    )


def _target_history(
    options: SquashOptions, server: Server, tmp: Path, progress: Progress, stack: ExitStack
) -> tuple[HistoryAnswer, str | None]:
    """Restore the target into a second database and read what it recorded (nothing else of it)."""
    dump = options.target_dump
    header = None
    description = str(dump.name) if dump is not None else None
    if options.target_url:
        dump = tmp / "target.dump"
        with progress.step("dumping the target (read-only)"):
            dumping = stack.enter_context(closing(target.start_dump_url(options.target_url, dump, options.pg_bin)))
            facts = dumping.result()
        header = facts.header
        description = facts.description
    assert dump is not None
    copy = server.create_database("target")
    with progress.step(f"restoring {dump.name}"):
        if header is None:
            with closing(target.read_dump(dump, options.pg_bin)) as reader:
                header = reader.result()
        target.restore(server, dump, options.pg_bin, options.jobs, into=copy, header=header)
    with ProbeSession(options.project, server.info.url(copy)) as probe:
        return probe.history(), description
