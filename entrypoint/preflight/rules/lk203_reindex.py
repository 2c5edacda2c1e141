from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import has_option
from preflight.sql.parse import Statement, relation_name


class ReindexNonConcurrently(Rule):
    """REINDEX without CONCURRENTLY blocks writes to the table while it rebuilds.

    Why is this bad?
        REINDEX locks out writes to the table (and reads that would use the index) for
        the whole rebuild.

    Example:
        REINDEX TABLE "orders_orderline";

    Use instead:
        REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside a transaction.
    """

    code = "LK203"
    name = "reindex-non-concurrently"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.ReindexStmt) or has_option(node.params, "concurrently"):
            return
        table = relation_name(node.relation) if node.relation else None
        severity = context.locking_severity(table, self.severity)
        if severity is None:
            return
        what = table or node.name or "the database"
        yield self.finding(
            f"REINDEX of {what} blocks writes while it rebuilds{context.size_note(table)}",
            "use REINDEX ... CONCURRENTLY (PostgreSQL 12+) outside a transaction",
            severity=severity,
            table=table,
        )
