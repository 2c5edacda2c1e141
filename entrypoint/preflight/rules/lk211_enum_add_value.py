from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import dotted
from preflight.sql.parse import Statement


class EnumAddValueInTransaction(Rule):
    """ALTER TYPE ... ADD VALUE inside a transaction fails before PostgreSQL 12.

    Why is this bad?
        Before PostgreSQL 12, adding a value to an enum cannot run in a transaction
        block, and Django migrations are transactions unless `atomic = False`. From 12
        on it works, but the new value cannot be used until the transaction commits.
        The rule uses the copy's server version; without one it warns.

    Example:
        ALTER TYPE "order_status" ADD VALUE 'refunded';

    Use instead:
        On servers older than 12, put it in its own migration with `atomic = False`.
    """

    code = "LK211"
    name = "enum-add-value-in-transaction"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.AlterEnumStmt) or node.oldVal or not context.in_transaction:
            return
        version = context.facts.server_version_num
        if version is not None and version >= 120000:
            return
        known = "" if version is None else f" (the target runs {version // 10000})"
        yield self.finding(
            f"ALTER TYPE {dotted(node.typeName)} ADD VALUE fails inside a transaction on PostgreSQL before 12{known}",
            "move it to its own migration with atomic = False",
            severity=self.severity if version is not None else Severity.WARNING,
        )
