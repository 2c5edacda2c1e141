from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.types import lossy, widens
from preflight.sql.parse import Statement


class ColumnTypeRunningRelease(Rule):
    """ALTER COLUMN ... TYPE on an existing column changes what the old release reads and writes.

    Why is this bad?
        The release still running during the deploy keeps sending values for the old
        type: a narrower type rejects those that no longer fit (varchar(64) to
        varchar(16), bigint to integer), and a different type (text to integer,
        timestamp to timestamptz) is read back differently or rejects the old values.
        Widening in place (varchar(n) to varchar(m >= n) or text, integer to bigint,
        more numeric precision) is safe and not reported. The copy tells the old type;
        without a copy it is only info, because the change may be a widening.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" TYPE varchar(20);

    Use instead:
        Widen rather than narrow. For a real change of type, add a new column, write
        both from one release, backfill, switch reads, and drop the old column later.
    """

    code = "BR306"
    name = "column-type-running-release"
    category = Category.BREAKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for change in context.type_changes(statement.node):
            table, column, new, known = change.table, change.column, change.new, change.known
            if known is None:
                yield self.finding(
                    f"{table}.{column} changes type to {new}; without a copy Preflight cannot tell whether the "
                    "running release's values still fit",
                    "preview against a copy of the database (--target-dump/--target-url) to know",
                    severity=Severity.INFO,
                    table=table,
                    column=column,
                    new_type=new,
                )
                continue
            if widens(known.type, new):
                continue
            reason = lossy(known.type, new)
            effect = (
                f"{reason}, including those it still writes" if reason else f"it still reads and writes {known.type}"
            )
            yield self.finding(
                f"{table}.{column} changes from {known.type} to {new} while the running release uses it: {effect}",
                "widen instead, or add a new column, write both, backfill, switch reads, then drop the old one",
                table=table,
                column=column,
                old_type=known.type,
                new_type=new,
            )
