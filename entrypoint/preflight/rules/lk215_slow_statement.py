from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.measured import MigrationRun
from preflight.units import duration


class SlowStatement(Rule):
    """A statement took longer than the threshold on the copy.

    Why is this bad?
        Whatever it locks stays locked at least that long in production, and a deploy
        that waits on it can time out. The threshold is `thresholds.statement_ms`
        (default 5000).

    Example:
        UPDATE "orders_orderline" SET "line_total" = ("quantity" * "unit_price");
        -- 12.4 s on the copy

    Use instead:
        Batch large data changes (outside the schema migration, or in chunks with
        `atomic = False`), and build indexes CONCURRENTLY.
    """

    code = "LK215"
    name = "slow-statement"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        for index, (_, took, operation) in enumerate(run.statements):
            if took >= context.thresholds.statement_ms:
                yield self.finding(
                    f"this statement took {duration(took)} on the copy",
                    "batch large data changes and build indexes CONCURRENTLY",
                    duration_ms=round(took, 1),
                    statement_index=index,
                    operation_index=operation,
                )
