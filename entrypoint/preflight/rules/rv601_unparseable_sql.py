from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.parse import Statement


class UnparseableSQL(Rule):
    """SQL that PostgreSQL's parser rejects was not checked.

    Why is this bad?
        Preflight reads SQL with PostgreSQL's own grammar; a statement it cannot parse
        is not "safe", it is unknown, and it will most likely fail on the server too.

    Example:
        ALTER TABLE "orders_order" ADD COLUMN "paid" boolean DEFAULT;

    Use instead:
        Fix the syntax (run it against a copy: preflight preview does).
    """

    code = "RV601"
    name = "unparseable-sql"
    category = Category.REVIEW
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if statement.error and statement.origin != "dynamic":
            yield self.finding(
                f"could not be parsed, so it was not checked: {statement.error}",
                "fix the SQL; if it is valid for your server, read it yourself and approve with a reason",
            )
