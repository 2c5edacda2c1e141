from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement, relation_name


class CreateIndexNonConcurrently(Rule):
    """CREATE INDEX without CONCURRENTLY on an existing table blocks its writes.

    Why is this bad?
        A plain CREATE INDEX holds a SHARE lock on the table for the whole build:
        reads go on, but every INSERT, UPDATE and DELETE waits until the index is
        built, which on a large table is seconds to minutes. Indexes on tables created
        earlier in the same plan are not reported: nobody else can be using them.

    Example:
        CREATE INDEX "orders_line_product_order_idx" ON "orders_orderline" ("product_id", "order_id");

    Use instead:
        CREATE INDEX CONCURRENTLY, which in Django is `AddIndexConcurrently`
        (`django.contrib.postgres.operations`) in a migration with `atomic = False`.
    """

    code = "LK201"
    name = "create-index-non-concurrently"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.IndexStmt) or node.concurrent:
            return
        table = relation_name(node.relation)
        severity = context.locking_severity(table, self.severity)
        if severity is None:
            return
        name = f" {node.idxname}" if node.idxname else ""
        yield self.finding(
            f"CREATE INDEX{name} on {table} blocks writes to {table} while it builds{context.size_note(table)}",
            "use CREATE INDEX CONCURRENTLY (Django: AddIndexConcurrently in a migration with atomic = False)",
            severity=severity,
            table=table,
            index=node.idxname,
            rows=context.rows(table),
        )
