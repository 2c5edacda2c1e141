from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import MigrationRun
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.units import duration


class RowLocksHeldLong(Rule):
    """Rows changed by the migration stayed locked longer than the threshold on the copy.

    Why is this bad?
        An UPDATE or DELETE (in RunSQL or RunPython; SELECT ... FOR UPDATE as well) locks
        every row it touches until its transaction ends: in an atomic migration, until
        the whole migration commits. The table lock it takes (ROW EXCLUSIVE) blocks
        nobody, so nothing looks blocked, but every application UPDATE or DELETE of
        those rows waits. Measured on the copy: the rows it counted and the time from
        the first such statement to the commit (to the statement's end without a
        transaction). Reported from `thresholds.lock_ms` (default 1000); an error from
        `thresholds.locking_rows` rows (default 10,000), or when --probe-concurrency saw
        a second session's row writes wait that long; a warning below. Rows of a table
        that a lock blocking all writes (LK213) covered as long are not reported again.

    Example:
        def backfill(apps, schema_editor):
            Item = apps.get_model("stock", "Item")
            Item.objects.update(reserved=0)  # 100,000 rows, locked until the migration commits
        # ... more work in the same migration: 30 s

    Use instead:
        Change the rows in batches that each commit (a non-atomic migration with a
        `transaction.atomic()` per batch, or a management command after the deploy),
        and keep data changes out of migrations that do slow schema work.
    """

    code = "LK218"
    name = "row-locks-held-long"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        for hold in run.row_holds:
            if context.is_new(hold.table) or hold.held_ms < context.thresholds.lock_ms:
                continue
            measured = next((b for b in run.blocked if b.table == hold.table), None)
            waited = measured.row_writes_ms if measured else None
            severity = self.severity
            if hold.rows < context.thresholds.locking_rows and (waited or 0) < context.thresholds.lock_ms:
                severity = Severity.WARNING
            rows = f"{'up to ' if hold.statements > 1 else ''}{hold.rows:,} row{'s' if hold.rows != 1 else ''}"
            until = "the migration commits" if run.atomic else "the statement ends"
            seen = f"; a second session's row writes waited {duration(waited)}" if waited else ""
            yield self.finding(
                f"blocks updates and deletes of {rows} of {hold.table} for {duration(hold.held_ms)}: "
                f"{hold.verb} keeps each row it touches locked until {until}{seen}",
                "change the rows in batches that commit on their own (non-atomic migration, or a command "
                "after the deploy), and keep slow work out of the data migration's transaction",
                severity=severity,
                table=hold.table,
                rows=hold.rows,
                held_ms=round(hold.held_ms, 1),
                row_writes_blocked_ms=round(waited, 1) if measured and waited is not None else None,
                statement_index=hold.statement,
                operation_index=hold.operation,
            )
