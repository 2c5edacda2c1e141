from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, commands
from preflight.sql.parse import Statement


class DropNotNullDefault(Rule):
    """ALTER COLUMN ... DROP DEFAULT on an existing NOT NULL column that had a default.

    Why is this bad?
        Inserts that leave the column out (the old release, other services, raw SQL
        jobs) relied on the database filling it in; after the default is dropped they
        fail with a not-null violation and their rows are lost. Reported only when the
        copy shows the column is NOT NULL with a default; dropping the temporary default
        Django adds with a new column is not this rule's concern (see BR303).

    Example:
        ALTER TABLE "orders_order" ALTER COLUMN "currency" DROP DEFAULT;

    Use instead:
        Keep the database default (Django 5.0+: `db_default`) until nothing inserts
        without the column, then drop it in a later release.
    """

    code = "DS108"
    name = "drop-not-null-default"
    category = Category.DESTRUCTIVE
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_ColumnDefault):
            if cmd.def_ is not None or context.column_is_new(table, cmd.name):
                continue
            known = context.facts.columns.get((table or "", cmd.name or ""))
            if known is None or not known.not_null or known.default is None:
                continue
            yield self.finding(
                f"{table}.{cmd.name} is NOT NULL and loses its default {known.default}: inserts that omit it will fail",
                "keep the database default (Django 5.0+: db_default) until nothing inserts without the column",
                table=table,
                column=cmd.name,
                default=known.default,
            )
