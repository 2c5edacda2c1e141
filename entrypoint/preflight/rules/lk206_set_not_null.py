from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, commands
from preflight.sql.parse import Statement


class SetNotNull(Rule):
    """ALTER COLUMN ... SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.

    Why is this bad?
        PostgreSQL checks every row for NULLs before it commits the change, and nobody
        can read or write the table meanwhile. (Whether NULLs exist is DD402's concern.)
        A column added earlier in the same plan is no exception: the table's existing
        rows are scanned all the same. Only a table created in the plan (or empty) is free.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" SET NOT NULL;

    Use instead:
        On PostgreSQL 12+: ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID,
        VALIDATE CONSTRAINT (which only blocks writes briefly), then SET NOT NULL,
        which uses the valid check instead of scanning, then drop the check.
    """

    code = "LK206"
    name = "set-not-null"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_SetNotNull):
            added = context.added_to_existing(table, cmd.name)
            if added is not None and context.rows(table) == 0:
                continue  # nothing to scan
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            new = " (the column was added earlier in the plan, but the table's rows are not new)" if added else ""
            yield self.finding(
                f"SET NOT NULL on {table}.{cmd.name} scans every row while blocking reads and writes"
                f"{context.size_note(table)}{new}",
                "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+)",
                severity=severity,
                table=table,
                column=cmd.name,
                rows=context.rows(table),
            )
