from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.types import rewrites
from preflight.sql.parse import Statement


class ColumnTypeRewrite(Rule):
    """ALTER COLUMN ... TYPE that rewrites the whole table under an ACCESS EXCLUSIVE lock.

    Why is this bad?
        Most type changes (integer to bigint, narrowing a varchar, numeric scale changes,
        text to varchar(n)) copy every row into a new table file while nobody can read
        or write the table. Changes PostgreSQL does in the catalog only are not reported:
        varchar(n) to varchar(m >= n), varchar to text, numeric(p,s) to numeric(q >= p,s).

    Example:
        ALTER TABLE "orders_orderline" ALTER COLUMN "quantity" TYPE bigint;

    Use instead:
        Add a new column of the new type, backfill it in batches, switch the code over,
        then drop the old column; or widen in a metadata-only way (varchar to text).
    """

    code = "LK204"
    name = "column-type-rewrite"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for change in context.type_changes(statement.node):
            table, column, new, known = change.table, change.column, change.new, change.known
            verdict = rewrites(known.type if known else None, new)
            if verdict is False:
                continue
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            if verdict is None:
                severity = min(severity, Severity.WARNING)
                detail = "rewrites the table unless it only raises a length or precision limit"
            else:
                old = f" from {known.type}" if known else ""
                detail = f"rewrites the whole table{old}"
            yield self.finding(
                f"changing {table}.{column} to {new} {detail}, blocking reads and writes{context.size_note(table)}",
                "add a new column, backfill it in batches, switch the code, then drop the old column",
                severity=severity,
                table=table,
                column=column,
                new_type=new,
                rows=context.rows(table),
            )
