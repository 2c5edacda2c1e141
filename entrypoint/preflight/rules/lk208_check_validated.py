from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import CONSTR, constraints
from preflight.sql.parse import Statement


class CheckWithoutNotValid(Rule):
    """ADD CHECK without NOT VALID scans every row under an ACCESS EXCLUSIVE lock.

    Why is this bad?
        The table is read in full to validate the check while nobody can read or write
        it. This includes a CHECK written inline in ADD COLUMN, which Django emits for
        PositiveIntegerField and friends: even on a new, all-NULL column every row is
        read (290 ms for 3 million rows on PostgreSQL 15, against 1 ms without the check).

    Example:
        ALTER TABLE "orders_orderline" ADD CONSTRAINT "quantity_positive" CHECK ("quantity" > 0);

    Use instead:
        ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a
        separate migration.
    """

    code = "LK208"
    name = "check-without-not-valid"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, constraint, column in constraints(statement.node):
            if constraint.contype != CONSTR.CONSTR_CHECK or constraint.skip_validation:
                continue
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            what = f"check {constraint.conname}" if constraint.conname else "a check"
            where = f" (inline on new column {column.colname})" if column is not None else ""
            yield self.finding(
                f"{what}{where} on {table} is validated against every row while reads and writes wait"
                f"{context.size_note(table)}",
                "add the check NOT VALID, then VALIDATE CONSTRAINT in a separate migration",
                severity=severity,
                table=table,
                constraint=constraint.conname,
                rows=context.rows(table),
            )
