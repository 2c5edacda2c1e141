"""From the probe's parsed apply and round-trip answers to the evidence records the rules read. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from preflight.evidence.measured import (
    Blocked,
    Executed,
    FailureFacts,
    Lock,
    MigrationRun,
    Rewrite,
    RoundTrip,
    RoundTripStep,
)
from preflight.probe.protocol import AppliedMigration, ApplyAnswer, PlanAnswer, RoundTripAnswer, StepAnswer


def runs(
    applied: ApplyAnswer,
    plan: PlanAnswer,
    failure: FailureFacts | None = None,
    blocked: Mapping[str, list[Blocked]] | None = None,
) -> list[MigrationRun]:
    """What each pending migration did on the copy, in plan order.

    `failure`: what the copy said about the failed migration's rows; `blocked`: what a
    second session waited per migration label (--probe-concurrency).
    """
    by_key = {(m.app, m.name): m for m in applied.migrations}
    result = []
    for pending in plan.pending:
        run = by_key.get((pending.app, pending.name)) or AppliedMigration(
            pending.app, pending.name, pending.atomic, "not_run", None
        )
        failed = applied.failure is not None and applied.failure.migration == pending.label
        result.append(
            MigrationRun(
                app=pending.app,
                name=pending.name,
                file=pending.file,
                atomic=run.atomic,
                status=run.status,
                duration_ms=run.duration_ms,
                operations=list(pending.operations),
                executed=[
                    Executed(s.sql, s.duration_ms, s.rows, s.count, s.started_ms, s.operation, s.internal, s.max_ms)
                    for s in run.statements
                ],
                locks=locks(run),
                rewrites=rewrites(run),
                blocked=list((blocked or {}).get(pending.label, [])),
                failure=failure if failed else None,
                failed_statement=applied.failure.statement if failed and applied.failure else None,
                failed_operation=next((s.operation for s in run.statements if s.error), None) if failed else None,
                captured=applied.captured,
            )
        )
    return result


def locks(run: AppliedMigration) -> list[Lock]:
    return [
        Lock(lock.relation, lock.mode, lock.held_ms, lock.statement, lock.operation, lock.new_in_plan, lock.kind)
        for lock in run.locks
    ]


def rewrites(run: AppliedMigration) -> list[Rewrite]:
    return [
        Rewrite(rw.relation, rw.kind, rw.before_bytes, rw.after_bytes, rw.statement, rw.operation, rw.new_in_plan)
        for rw in run.rewrites
    ]


def round_trip(answer: RoundTripAnswer) -> RoundTrip:
    """What migrating back and forward again showed on the copy."""
    forward = _step(answer.forward) if answer.forward is not None else None
    return RoundTrip(_step(answer.backward), forward)


def _step(step: StepAnswer) -> RoundTripStep:
    return RoundTripStep(step.status, step.migrations, step.duration_ms, step.migration, step.error, step.sqlstate)
