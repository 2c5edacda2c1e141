"""From the deploy answer to the Report's records: what ran on the target, and the way back. Pure.

The way back is the Report's own: `migrate <app> <previous>` per app where every pending
migration can be unapplied (report.build computes it), and past an irreversible one the
`pg_restore` of the backup this run took (with "$DATABASE_URL", never the real URL).
"""

from __future__ import annotations

import dataclasses

from preflight.probe import protocol
from preflight.report.model import Attempt, Deployment, Report, Step, Waited


def as_applied(deployed: protocol.DeployAnswer | None) -> protocol.ApplyAnswer:
    """The deploy answer as the apply answer the evidence and the report read (no capture on the target)."""
    if deployed is None:
        return protocol.ApplyAnswer(migrations=(), captured=False)
    return protocol.ApplyAnswer(
        migrations=deployed.migrations,  # DeployedMigration is the AppliedMigration the report reads, and more
        failure=deployed.failure,  # a DeployFailure is the ApplyFailure the report reads, and more
        post_migrate=deployed.post_migrate,
        lock_timeout_ms=deployed.settings.lock_timeout_ms,
        captured=False,
    )


def deployment(base: Deployment, deployed: protocol.DeployAnswer | None) -> Deployment:
    """`base` with each migration's tries and lock waits, and, after a failure, the state it left."""
    if deployed is None:
        return base
    steps = [
        Step(
            migration=m.label,
            attempts=[
                Attempt(a.number, a.duration_ms, a.outcome, a.error, a.dropped_invalid_index, a.backoff_ms)
                for a in m.attempts
            ],
            waits=[_waited(w) for w in m.waits],
        )
        for m in deployed.migrations
        if m.status != "not_run"
    ]
    notes = _notes(deployed)
    failure = deployed.failure
    if failure is None:
        return dataclasses.replace(base, steps=steps, notes=notes)
    return dataclasses.replace(
        base,
        steps=steps,
        notes=notes,
        state=failure.state,
        ran=list(failure.ran),
        invalid_indexes_dropped=list(failure.invalid_indexes_dropped),
        invalid_indexes_left=list(failure.invalid_indexes_left),
    )


def _notes(deployed: protocol.DeployAnswer) -> list[str]:
    """What the deploy could not do or chose not to, in words (the reader's, not the protocol's)."""
    notes = []
    if deployed.after_error:
        notes.append(f"after the migrations, post_migrate or the squash bookkeeping failed: {deployed.after_error}")
    if deployed.waits_error:
        notes.append(f"the locks waited for could not be sampled ({deployed.waits_error}): '–' means unknown")
    failure = deployed.failure
    if failure is not None and failure.retry_unsafe:
        notes.append(f"{failure.migration} was not retried: some of its statements had run, so a retry was not safe")
    if failure is not None and failure.cleanup_error:
        notes.append(f"an INVALID index could not be dropped: {failure.cleanup_error}")
    return notes


def _waited(wait: protocol.LockWait) -> Waited:
    # A wait on no relation is a wait for another transaction to end (CREATE INDEX CONCURRENTLY does that).
    relation = wait.relation or f"a transaction ({wait.locktype})"
    return Waited(relation, wait.mode, wait.waited_ms, list(wait.blockers))


def with_restore(report: Report) -> Report:
    """Past an irreversible migration, the way back is this run's backup: name its file in the command."""
    deployment = report.deployment
    if deployment is None or deployment.backup is None or not report.irreversible:
        return report
    return dataclasses.replace(report, restore_command=deployment.backup.restore_command)
