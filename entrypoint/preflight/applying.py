"""`preflight apply --rehearse`: `preflight gate` on a throwaway copy of the target, before apply.

An edge module (the CLI and the Action build the rehearsal and hand it to the apply
pipeline, which the route imports without the throwaway servers). The copy is a
read-only pg_dump of the target, migrated with apply's own lock_timeout, so its
findings, measured ones included (locks held, rewrites, the round trip, the data), are
about the run apply is going to make.
"""

from __future__ import annotations

from typing import Any

from preflight.apply.pipeline import ApplyOptions, Rehearsal
from preflight.errors import BlockedError, MigrationFailedError, PreflightError
from preflight.preview import PreviewOptions, preview
from preflight.progress import Progress
from preflight.verdict import verdict


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
