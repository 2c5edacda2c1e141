from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement, relation_name


class UpdateWithoutWhere(Rule):
    """UPDATE without a WHERE clause overwrites a column in every row.

    Why is this bad?
        The previous values are lost (migrating back does not restore them), and every
        row stays locked until the migration commits, blocking the application's writes.
        Filling a column added earlier in the same plan is not reported.

    Example:
        UPDATE "customers_customer" SET "email" = lower("email");

    Use instead:
        Add a WHERE clause that touches only the rows that need it, update in batches
        outside the migration for large tables, or approve with a reason.
    """

    code = "DS106"
    name = "update-without-where"
    category = Category.DESTRUCTIVE
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.UpdateStmt) or node.whereClause is not None:
            return
        table = relation_name(node.relation)
        columns = [target.name for target in node.targetList or ()]
        if context.is_new(table) or all(context.column_is_new(table, column) for column in columns):
            return
        yield self.finding(
            f"UPDATE {table} without WHERE overwrites {', '.join(columns)} in every row{context.size_note(table)}",
            "limit it with a WHERE clause and batch it for large tables, or approve with a reason",
            table=table,
            columns=columns,
            rows=context.rows(table),
        )
