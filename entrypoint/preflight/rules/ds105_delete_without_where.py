from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement, relation_name


class DeleteWithoutWhere(Rule):
    """DELETE without a WHERE clause deletes every row of the table.

    Why is this bad?
        It is almost always a mistake (a filter that got lost), and on a large table it
        holds row locks on everything it deletes until the migration commits.

    Example:
        DELETE FROM "orders_cart";

    Use instead:
        Add the WHERE clause you meant; if every row really must go, approve the
        finding with a reason.
    """

    code = "DS105"
    name = "delete-without-where"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.DeleteStmt) or node.whereClause is not None:
            return
        table = relation_name(node.relation)
        if context.is_new(table):
            return
        yield self.finding(
            f"DELETE FROM {table} has no WHERE clause: it deletes every row{context.size_note(table)}",
            "add the WHERE clause you meant, or approve with a reason if every row must go",
            table=table,
            rows=context.rows(table),
        )
