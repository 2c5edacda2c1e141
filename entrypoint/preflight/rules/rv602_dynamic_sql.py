from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement


class DynamicSQL(Rule):
    """EXECUTE of SQL built at run time (in a DO block) cannot be checked.

    Why is this bad?
        The statement only exists when the block runs, so no rule can see it; it may
        drop, rewrite or lock anything.

    Example:
        DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'legacy_' || 'orders'); END $$;

    Use instead:
        Write the statements out, or read the block yourself and approve with a reason.
    """

    code = "RV602"
    name = "dynamic-sql"
    category = Category.REVIEW
    severity = Severity.INFO

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if statement.error and statement.origin == "dynamic":
            yield self.finding(
                f"dynamic SQL was not checked: {statement.text}",
                "write the statements out, or read the block and approve with a reason",
            )
