from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import OBJ, dotted
from preflight.sql.parse import Statement


class DropTable(Rule):
    """DROP TABLE deletes a table and every row in it.

    Why is this bad?
        The rows are gone for good, and the release still running during the deploy
        fails as soon as it touches the table.

    Example:
        DROP TABLE "orders_invoice" CASCADE;

    Use instead:
        Stop using the table first (remove the model's use in one release), take a
        backup, drop it in a later release, and approve the finding with a reason.
    """

    code = "DS101"
    name = "drop-table"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.DropStmt) or node.removeType not in (OBJ.OBJECT_TABLE, OBJ.OBJECT_MATVIEW):
            return
        if context.operation and context.operation.type == "SeparateDatabaseAndState":
            return  # DS109 says it with the Django context
        for obj in node.objects or ():
            table = dotted(obj)
            if context.is_new(table):
                continue
            yield self.finding(
                f"DROP TABLE {table} deletes the table and all its rows{context.size_note(table)}",
                "drop it in a later release than the one that stops using it, after a backup; approve with a reason",
                table=table,
                rows=context.rows(table),
            )
