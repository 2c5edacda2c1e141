"""`preflight apply` from the CLI and the Action: the project's interpreter, and the rehearsal.

An edge module. `run` starts the probe session the apply pipeline migrates the target
through (the project's own interpreter, pointed at the target) and, with --rehearse,
builds the rehearsal it hands the pipeline: `preflight gate` on a throwaway copy of the
target. The route imports the pipeline without either, so without the throwaway servers.
The copy is a read-only pg_dump of the target, migrated with apply's own lock_timeout, so
its findings, measured ones included (locks held, rewrites, the round trip, the data),
are about the run apply is going to make.
"""

from __future__ import annotations

from typing import Any

from preflight.apply import pipeline
from preflight.apply.pipeline import ApplyOptions, Rehearsal
from preflight.errors import BlockedError, MigrationFailedError, PreflightError
from preflight.preview import PreviewOptions, preview
from preflight.probe.session import ProbeSession
from preflight.progress import Progress
from preflight.report.model import Report
from preflight.verdict import verdict


def run(options: ApplyOptions, progress: Progress) -> Report:
    """Apply through a probe session on the target (read-only for --dry-run), rehearsed first if asked."""
    project = options.project
    assert project is not None
    url = pipeline.session_url(options)
    rehearse = rehearsal(options, progress) if options.rehearse else None
    return pipeline.run(options, lambda: ProbeSession(project, url), progress, rehearse)


def rehearsal(options: ApplyOptions, progress: Progress) -> Rehearsal:
    """Return the rehearsal of `options`' apply, to run once the static gate has read the plan."""

    def rehearse() -> tuple[list[Any], PreflightError | None]:
        assert options.project is not None
        progress.log("rehearsing on a throwaway copy of the target (read-only pg_dump), as `preflight gate` does")
        report = preview(
            PreviewOptions(
                project=options.project,
                target_url=options.target_url,
                postgres=options.postgres,
                pg_bin=options.pg_bin,
                pg_user=options.pg_user,
                image=options.image,
                config=options.config,
                approvals=list(options.approvals),
                fail_on=options.fail_on,
                lock_timeout=options.deploy.lock_timeout_ms or None,
                production_lock_timeout=options.deploy.lock_timeout_ms or None,  # apply sets it
            ),
            progress,
        )
        ending = verdict(report)
        if ending is not None and not isinstance(ending, BlockedError):  # it failed on the copy
            return report.findings, MigrationFailedError(
                f"nothing was applied: the rehearsal on a copy failed: {ending.cause}", ending.fix
            )
        return report.findings, None

    return rehearse
