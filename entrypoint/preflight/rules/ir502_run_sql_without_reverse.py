from __future__ import annotations

from collections.abc import Iterator

from preflight.probe.protocol import OperationRef
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class RunSQLWithoutReverse(Rule):
    """RunSQL without reverse_sql cannot be migrated back.

    Why is this bad?
        `migrate app <previous>` stops with IrreversibleError at this operation, so a bad
        release cannot be rolled back with Django.

    Example:
        migrations.RunSQL("CREATE INDEX ...")

    Use instead:
        `RunSQL(sql, reverse_sql="DROP INDEX ...")`, or `reverse_sql=migrations.RunSQL.noop`
        when there is nothing to undo.
    """

    code = "IR502"
    name = "run-sql-without-reverse"
    category = Category.IRREVERSIBLE
    severity = Severity.WARNING

    def check_operation(self, operation: OperationRef, context: Context) -> Iterator[Finding]:
        if operation.type == "RunSQL" and not operation.reversible:
            yield self.finding(
                "RunSQL has no reverse_sql: migrating back stops here with IrreversibleError",
                "pass reverse_sql (migrations.RunSQL.noop when there is nothing to undo)",
            )
