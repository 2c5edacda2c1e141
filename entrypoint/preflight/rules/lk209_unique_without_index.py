from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.nodes import CONSTR, constraints, named
from preflight.sql.parse import Statement


class UniqueWithoutIndex(Rule):
    """ADD UNIQUE or PRIMARY KEY without USING INDEX builds the index under an exclusive lock.

    Why is this bad?
        The unique index is built while the table is locked against reads and writes
        (ACCESS EXCLUSIVE), for as long as the build takes.

    Example:
        ALTER TABLE "catalog_category" ADD CONSTRAINT "catalog_category_slug_key" UNIQUE ("slug");

    Use instead:
        CREATE UNIQUE INDEX CONCURRENTLY first, then
        ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX (instant).
    """

    code = "LK209"
    name = "unique-without-index"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, constraint, column in constraints(statement.node):
            if constraint.contype not in (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY) or constraint.indexname:
                continue
            if column is not None:
                continue  # inline on ADD COLUMN: a new column, covered by the column's own rewrite rules
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            kind = "PRIMARY KEY" if constraint.contype == CONSTR.CONSTR_PRIMARY else "UNIQUE"
            yield self.finding(
                f"{named(kind, constraint.conname)} on {table} builds its index while reads and writes wait"
                f"{context.size_note(table)}",
                "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX",
                severity=severity,
                table=table,
                constraint=constraint.conname,
                rows=context.rows(table),
            )
