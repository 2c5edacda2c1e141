from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.locks import ACCESS_EXCLUSIVE
from preflight.sql.nodes import OBJ, dotted
from preflight.sql.parse import Statement


class DropIndexNonConcurrently(Rule):
    """DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.

    Why is this bad?
        The drop itself is quick, but it must wait for every running query on the table
        to finish, and while it waits every new query on the table queues behind it.
        Not reported when the transaction already holds an ACCESS EXCLUSIVE lock on the
        table (an earlier ALTER TABLE of the same atomic migration: the queue formed
        then, and dropping an index adds no work under the lock), nor for a DROP INDEX
        IF EXISTS of an index an earlier statement of the plan already dropped (Django
        repeats the `_like` drop; the second drops nothing), or of an index that neither
        the copy's catalog nor an earlier statement of the plan has (e.g. one a
        `SeparateDatabaseAndState` never created): dropping nothing takes no lock.

    Example:
        DROP INDEX "orders_order_status_time_idx";

    Use instead:
        DROP INDEX CONCURRENTLY (Django: `RemoveIndexConcurrently` in a migration with
        `atomic = False`).
    """

    code = "LK202"
    name = "drop-index-non-concurrently"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.DropStmt) or node.removeType != OBJ.OBJECT_INDEX or node.concurrent:
            return
        for obj in node.objects or ():
            index = dotted(obj)
            if index in context.state.dropped_indexes:
                continue  # gone already: IF EXISTS drops nothing, and no lock is asked for
            table = context.index_table(index)
            if table is None and node.missing_ok and context.facts.catalog and not context.state.opaque_before:
                continue  # not on the copy and not created by the plan: IF EXISTS drops nothing
            severity = context.locking_severity(table, self.severity)
            if severity is None or context.holds(table, ACCESS_EXCLUSIVE):
                continue
            on = f" on {table}" if table else ""
            yield self.finding(
                f"DROP INDEX {index}{on} takes an ACCESS EXCLUSIVE lock: queries on the table queue behind it",
                "use DROP INDEX CONCURRENTLY (Django: RemoveIndexConcurrently with atomic = False)",
                severity=severity,
                index=index,
                table=table,
            )
