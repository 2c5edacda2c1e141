from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.nodes import AT, commands
from preflight.sql.parse import Statement


class NotNullOnNulls(Rule):
    """SET NOT NULL on a column that holds NULLs in the copy.

    Why is this bad?
        The migration fails with "column contains null values" and the deploy stops.
        Counted on the copy before the pending migrations ran.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" SET NOT NULL;
        -- with 1,204 NULL phones on the copy

    Use instead:
        Fill the NULLs in an earlier data migration (Django: RunPython before the
        AlterField), or give the field a default.
    """

    code = "DD402"
    name = "not-null-on-nulls"
    category = Category.DATA_DEPENDENT
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_SetNotNull):
            if context.column_is_new(table, cmd.name):
                continue
            nulls = context.facts.nulls.get((table or "", cmd.name or ""))
            if not nulls:
                continue
            caveat = " (a data migration earlier in the plan may fill them)" if context.state.opaque_before else ""
            yield self.finding(
                f"SET NOT NULL on {table}.{cmd.name} will fail: {nulls:,} rows on the copy are NULL{caveat}",
                "fill the NULLs in an earlier data migration, or give the field a default",
                severity=Severity.WARNING if caveat else self.severity,
                table=table,
                column=cmd.name,
                null_rows=nulls,
            )
