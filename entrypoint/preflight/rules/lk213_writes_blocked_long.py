from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import MigrationRun, mode_name
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.units import duration


class WritesBlockedLong(Rule):
    """A lock that blocks writes was held longer than the threshold on the copy.

    Why is this bad?
        Measured, not guessed: the migration took a lock that blocks INSERT, UPDATE and
        DELETE (SHARE or stronger) on an existing table and held it until its
        transaction committed. Production, with more data and live traffic, waits at
        least as long. With --probe-concurrency the wait a second session actually saw
        is reported too. The threshold is `thresholds.lock_ms` (default 1000).

    Example:
        CREATE INDEX "orders_line_product_order_idx" ON "orders_orderline" ("product_id", "order_id");
        -- SHARE lock on orders_orderline held 4.1 s on the copy

    Use instead:
        Take the lock for less time: CREATE INDEX CONCURRENTLY, NOT VALID constraints
        validated later, batched backfills outside the schema change; or split the
        migration so the strong lock is released sooner.
    """

    code = "LK213"
    name = "writes-blocked-long"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        for lock in run.locks:
            if not lock.blocks_writes or lock.new_in_plan or lock.held_ms < context.thresholds.lock_ms:
                continue
            measured = next((b for b in run.blocked if b.table == lock.relation), None)
            waited = f"; a second session's writes waited {duration(measured.writes_ms)}" if measured else ""
            yield self.finding(
                f"{mode_name(lock.mode)} lock on {lock.relation} ({lock.blocks}) was held "
                f"{duration(lock.held_ms)} on the copy{waited}",
                "hold the lock for less time: CONCURRENTLY, NOT VALID then VALIDATE, or batch the data change",
                table=lock.relation,
                mode=lock.mode,
                held_ms=round(lock.held_ms, 1),
                writes_blocked_ms=round(measured.writes_ms, 1) if measured else None,
                statement_index=lock.statement,
                operation_index=lock.operation,
            )
