from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.types import lossy, split
from preflight.sql.parse import Statement


class LossyTypeChange(Rule):
    """ALTER COLUMN ... TYPE to a narrower type can cut or reject existing values.

    Why is this bad?
        Narrowing varchar(64) to varchar(16), numeric(12,2) to numeric(12,0) or bigint
        to integer loses what does not fit (or fails the migration on the first row
        that does not fit), and migrating back cannot restore it. The copy's own column
        type is compared with the new one, and for a shorter character limit the copy
        counts the values that would not fit: none is only info. Without a copy the
        change is a warning, because the old type is unknown.

    Example:
        ALTER TABLE "customers_customer" ALTER COLUMN "phone" TYPE varchar(16);

    Use instead:
        Check the longest or largest existing value first, and widen rather than narrow;
        if the data really fits, approve with a reason.
    """

    code = "DS107"
    name = "lossy-type-change"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for change in context.type_changes(statement.node):
            table, column, new, known = change.table, change.column, change.new, change.known
            if known is None:
                yield self.finding(
                    f"{table}.{column} changes type to {new}; without a copy Preflight cannot tell whether "
                    "existing values fit",
                    "preview against a copy of the database (--target-dump/--target-url) to know",
                    severity=Severity.WARNING,
                    table=table,
                    column=column,
                    new_type=new,
                )
                continue
            reason = lossy(known.type, new)
            if not reason:
                continue
            _, mods = split(new)
            too_long = context.facts.too_long.get((table, column, mods[0])) if mods else None
            if too_long == 0:
                yield self.finding(
                    f"{table}.{column} narrows from {known.type} to {new}; "
                    f"every value on {context.facts.where} fits today",
                    "make sure the application validates the new limit before rows longer than it arrive",
                    severity=Severity.INFO,
                    table=table,
                    column=column,
                    old_type=known.type,
                    new_type=new,
                )
                continue
            where = context.facts.where
            counted = f": {too_long:,} rows on {where} do not fit" if too_long else context.size_note(table)
            yield self.finding(
                f"{table}.{column} changes from {known.type} to {new}: {reason}{counted}",
                "keep the wider type, or shorten those values first and approve with a reason",
                table=table,
                column=column,
                old_type=known.type,
                new_type=new,
                rows_not_fitting=too_long,
            )
