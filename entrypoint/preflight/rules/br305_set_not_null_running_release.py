from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, commands
from preflight.sql.parse import Statement


class SetNotNullRunningRelease(Rule):
    """SET NOT NULL on an existing column fails the old release's writes of NULL.

    Why is this bad?
        Until the new code is live, the release still running has the field as
        `null=True` and may insert or update NULL into it; from the moment the migration
        commits, those writes fail with a not-null violation. This is about the running
        code, whatever the size of the table (LK206 is about the lock, DD402 about NULLs
        already in the rows). Not reported for a column already NOT NULL on the copy, nor
        for tables and columns created earlier in the plan.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" SET NOT NULL;

    Use instead:
        Ship code that never writes NULL to the column first (a default in the model, a
        required form field), then make it NOT NULL in a later release. If the running
        release already never writes NULL, approve the finding with that reason.
    """

    code = "BR305"
    name = "set-not-null-running-release"
    category = Category.BREAKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_SetNotNull):
            if context.column_is_new(table, cmd.name):
                continue
            known = context.facts.columns.get((table or "", cmd.name or ""))
            if known is not None and known.not_null:
                continue  # nothing changes for the running release
            yield self.finding(
                f"{table}.{cmd.name} becomes NOT NULL while the running release may still write NULL to it: "
                "those inserts and updates fail until the new code is live",
                "stop writing NULL in an earlier release, then make the column NOT NULL; "
                "approve if the running release never writes NULL",
                table=table,
                column=cmd.name,
            )
