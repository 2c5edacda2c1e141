from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, commands
from preflight.sql.parse import Statement


class DropColumn(Rule):
    """ALTER TABLE ... DROP COLUMN deletes a column's data in every row.

    Why is this bad?
        The values cannot be brought back by migrating backwards (the reverse adds an
        empty column), and the old release still selects the column by name, so its
        queries fail from the moment the migration commits.

    Example:
        ALTER TABLE "orders_order" DROP COLUMN "notes" CASCADE;

    Use instead:
        Remove the field from the code in one release (Django: keep the column with
        `SeparateDatabaseAndState`, or mark the field unused), drop the column in the
        next release after a backup, and approve the finding with a reason.
    """

    code = "DS102"
    name = "drop-column"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if context.operation and context.operation.type == "SeparateDatabaseAndState":
            return  # DS109 says it with the Django context
        for table, cmd in commands(statement.node, AT.AT_DropColumn):
            if context.column_is_new(table, cmd.name):
                continue
            yield self.finding(
                f"dropping column {table}.{cmd.name} deletes its values in every row{context.size_note(table)}",
                "stop reading the column in one release, drop it in the next after a backup; approve with a reason",
                table=table,
                column=cmd.name,
                rows=context.rows(table),
            )
