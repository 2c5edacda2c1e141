from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import OBJ, has_option
from preflight.sql.parse import Statement


class ConcurrentlyInTransaction(Rule):
    """CONCURRENTLY inside a transaction fails: the migration cannot run at all.

    Why is this bad?
        CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY refuse to run inside a
        transaction block, and Django runs a migration in one transaction unless it says
        `atomic = False`. The deploy stops with "cannot run inside a transaction block".

    Example:
        class Migration(migrations.Migration):
            operations = [AddIndexConcurrently("order", models.Index(...))]  # atomic by default

    Use instead:
        Set `atomic = False` on the migration, and keep only the concurrent operations
        in it.
    """

    code = "LK210"
    name = "concurrently-in-transaction"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        concurrent = (
            (isinstance(node, ast.IndexStmt) and node.concurrent)
            or (isinstance(node, ast.DropStmt) and node.removeType == OBJ.OBJECT_INDEX and node.concurrent)
            or (isinstance(node, ast.ReindexStmt) and has_option(node.params, "concurrently"))
        )
        if concurrent and context.in_transaction:
            yield self.finding(
                "CONCURRENTLY cannot run inside a transaction: this statement fails and the migration with it",
                "set atomic = False on the migration (and keep only concurrent operations in it)",
            )
