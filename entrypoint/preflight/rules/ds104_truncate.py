from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement, relation_name


class Truncate(Rule):
    """TRUNCATE deletes every row of a table.

    Why is this bad?
        All rows are gone at once, and TRUNCATE takes an ACCESS EXCLUSIVE lock, so
        every reader and writer of the table waits while it runs.

    Example:
        TRUNCATE "analytics_event";

    Use instead:
        If the data really is disposable, say so by approving the finding with a
        reason; otherwise delete in batches with a WHERE clause.
    """

    code = "DS104"
    name = "truncate"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if not isinstance(statement.node, ast.TruncateStmt):
            return
        for relation in statement.node.relations or ():
            table = relation_name(relation)
            if context.is_new(table):
                continue
            yield self.finding(
                f"TRUNCATE {table} deletes all its rows{context.size_note(table)}",
                "approve with a reason if the data is disposable; otherwise delete in batches with a WHERE clause",
                table=table,
                rows=context.rows(table),
            )
