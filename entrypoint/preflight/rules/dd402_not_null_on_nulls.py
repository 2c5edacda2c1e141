from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import AddedColumn, Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, commands
from preflight.sql.parse import Statement


class NotNullOnNulls(Rule):
    """SET NOT NULL on a column that holds NULLs in the copy.

    Why is this bad?
        The migration fails with "column contains null values" and the deploy stops.
        Counted on the copy before the pending migrations ran. For a column added earlier
        in the same plan, the ADD COLUMN decides: without a default, every existing row of
        the table is NULL.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" SET NOT NULL;
        -- with 1,204 NULL phones on the copy

    Use instead:
        Fill the NULLs in an earlier data migration (Django: RunPython before the
        AlterField), or give the field a default. When the copy is migrated, its run
        decides: a SET NOT NULL that applied there is only info.
    """

    code = "DD402"
    name = "not-null-on-nulls"
    category = Category.DATA_DEPENDENT
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_SetNotNull):
            if context.is_new(table):
                continue
            added = context.added_to_existing(table, cmd.name)
            if added is not None:
                yield from self._added(table or "", cmd.name or "", added, context)
                continue
            nulls = context.facts.nulls.get((table or "", cmd.name or ""))
            if not nulls:
                continue
            may_change = context.data_may_change(table)
            caveat = " (an earlier RunPython or RunSQL in the plan may fill them)" if may_change else ""
            yield self.finding(
                f"SET NOT NULL on {table}.{cmd.name} will fail: "
                f"{nulls:,} rows on {context.facts.where} are NULL{caveat}",
                "fill the NULLs in an earlier data migration, or give the field a default",
                severity=Severity.WARNING if caveat else self.severity,
                table=table,
                column=cmd.name,
                null_rows=nulls,
                data_may_change=may_change,
            )

    def check_applied(self, finding: Finding) -> Finding:
        """The copy ran it: SET NOT NULL did not fail, whatever the catalog said before the plan."""
        facts = finding.facts
        if facts.get("added_in_plan"):
            before = f"all {facts['null_rows']:,} rows were NULL after ADD COLUMN"
        else:
            before = f"the copy had {facts['null_rows']:,} NULL rows before the plan"
        how = "an earlier pending migration filled them" if facts.get("data_may_change") else "they were filled by then"
        return self.applied_note(
            finding,
            f"SET NOT NULL on {facts['table']}.{facts['column']}: {before}; {how}: it applied on the copy",
            "keep the migration that fills the NULLs ahead of SET NOT NULL",
        )

    def _added(self, table: str, column: str, added: AddedColumn, context: Context) -> Iterator[Finding]:
        """SET NOT NULL on a column the plan added: its rows hold what ADD COLUMN gave them."""
        rows = context.rows(table)
        if added.not_null or added.default is not None or not rows:
            return  # filled by its default, or no rows (or none known: lint-sql, an empty baseline)
        caveat = " unless the data migration or UPDATE between them fills it" if added.rewritten else ""
        yield self.finding(
            f"SET NOT NULL on {table}.{column} will fail: the column was added earlier in the plan without a "
            f"default, so all {rows:,} existing rows are NULL{caveat}",
            "fill the column in a data migration before the AlterField, or add it with a default",
            severity=Severity.WARNING if caveat else self.severity,
            table=table,
            column=column,
            null_rows=rows,
            added_in_plan=True,
            data_may_change=added.rewritten,
        )
