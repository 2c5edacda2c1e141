from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import MigrationRun
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.units import size


class TableRewrite(Rule):
    """The migration rewrote an existing table on the copy (its relfilenode changed).

    Why is this bad?
        A rewrite copies every row into a new file under an ACCESS EXCLUSIVE lock; its
        time grows with the table, and it needs free disk for a second copy. Above
        `thresholds.rewrite_bytes` (default 10 MB) it is an error, below it info.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" TYPE varchar(20);
        -- customers_customer rewritten: 152 kB → 152 kB

    Use instead:
        Avoid the rewrite (add a new column and backfill it, widen types in a
        metadata-only way), or schedule it with downtime and enough free disk.
    """

    code = "LK214"
    name = "table-rewrite"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        for rewrite in run.rewrites:
            if rewrite.kind != "table" or rewrite.new_in_plan:
                continue
            largest = max(rewrite.before_bytes or 0, rewrite.after_bytes or 0)
            severity = self.severity if largest >= context.thresholds.rewrite_bytes else Severity.INFO
            yield self.finding(
                f"{rewrite.relation} was rewritten on the copy ({size(rewrite.before_bytes)} → "
                f"{size(rewrite.after_bytes)}), under a lock that blocks reads and writes",
                "avoid the rewrite (new column + backfill, metadata-only widening) or plan downtime and disk",
                severity=severity,
                table=rewrite.relation,
                before_bytes=rewrite.before_bytes,
                after_bytes=rewrite.after_bytes,
                statement_index=rewrite.statement,
                operation_index=rewrite.operation,
            )
