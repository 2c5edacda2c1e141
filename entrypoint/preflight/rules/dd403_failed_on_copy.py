from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import MigrationRun
from preflight.rules.base import Category, Context, Finding, Rule, Severity

WHAT = {
    "23505": "share a value, so the unique constraint cannot be created",
    "23502": "are NULL, so the column cannot be NOT NULL",
    "23514": "violate the check",
    "23503": "reference rows that do not exist",
}
# A data change (a RunPython or RunSQL UPDATE, INSERT, DELETE) that breaks a constraint
# the table already has: nothing is being created, the rows written collide with it.
WRITE = {
    "23505": "writes a value another row already holds, which the unique constraint rejects",
    "23502": "writes NULL into a NOT NULL column",
    "23514": "writes rows the check rejects",
    "23503": "writes or removes rows a foreign key needs",
}


class FailedOnCopy(Rule):
    """The migration failed on the copy because of the data already in it.

    Why is this bad?
        It will fail the same way in production: the deploy stops, and a non-atomic
        migration stays half applied. The rows that break it are counted on the copy
        after the failed migration rolled back.

    Example:
        ALTER TABLE "customers_address" ADD CONSTRAINT "customers_address_city_uniq" UNIQUE ("city");
        -- 2,500 rows share a value

    Use instead:
        Clean the data in an earlier migration (deduplicate, fill NULLs, fix the rows
        the check rejects), then apply the constraint.
    """

    code = "DD403"
    name = "failed-on-copy"
    category = Category.DATA_DEPENDENT
    severity = Severity.ERROR

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        failure = run.failure
        if failure is None or failure.sqlstate not in WHAT:
            return
        constraint = f" ({failure.constraint})" if failure.constraint else ""
        if failure.write is not None:
            message = f"failed on the copy{constraint}: its {failure.write} {WRITE[failure.sqlstate]}"
            fix = "make the data migration handle the rows that collide (skip, merge or fix them first)"
        else:
            where = f"{failure.table}({', '.join(failure.columns)})" if failure.table else "the table"
            counted = f"{failure.violating_rows:,} rows in {where} " if failure.violating_rows is not None else ""
            subject = counted or "rows "
            message = f"failed on the copy{constraint}: {subject}{WHAT[failure.sqlstate]}"
            fix = "clean the data in an earlier migration, then add the constraint"
        yield self.finding(
            message,
            fix,
            sqlstate=failure.sqlstate,
            table=failure.table,
            columns=list(failure.columns),
            violating_rows=failure.violating_rows,
            write=failure.write,
            operation_index=run.failed_operation,
        )
