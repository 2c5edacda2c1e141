from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import MigrationRun
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.units import duration


class SlowStatement(Rule):
    """A statement took longer than the threshold on the copy.

    Why is this bad?
        Whatever it locks stays locked at least that long in production, and a deploy
        that waits on it can time out. The threshold is `thresholds.statement_ms`
        (default 5000). A statement a data migration repeats (a loop saving one row at a
        time) counts with all its executions together: "100,000 executions, 19.5 s in
        total, 4 ms at most".

    Example:
        UPDATE "orders_orderline" SET "line_total" = ("quantity" * "unit_price");
        -- 12.4 s on the copy

    Use instead:
        Batch large data changes (outside the schema migration, or in chunks with
        `atomic = False`), and build indexes CONCURRENTLY. Replace a loop of single-row
        saves with one set-based UPDATE or `bulk_update`.
    """

    code = "LK215"
    name = "slow-statement"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        for index, executed in enumerate(run.executed):
            took, operation, count, longest = (
                executed.duration_ms,
                executed.operation,
                executed.count,
                executed.longest_ms,
            )
            if took < context.thresholds.statement_ms:
                continue
            if count == 1:
                yield self.finding(
                    f"this statement took {duration(took)} on the copy",
                    "batch large data changes and build indexes CONCURRENTLY",
                    duration_ms=round(took, 1),
                    statement_index=index,
                    operation_index=operation,
                )
                continue
            yield self.finding(
                f"{count:,} executions of this statement on the copy, "
                f"{duration(took)} in total, {duration(longest)} at most",
                "replace the loop of single-row statements with one set-based statement "
                "(or bulk_update), or batch it outside the schema migration",
                duration_ms=round(took, 1),
                max_ms=round(longest, 1),
                count=count,
                statement_index=index,
                operation_index=operation,
            )
