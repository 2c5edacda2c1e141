from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, CONSTR, commands
from preflight.sql.parse import Statement


class NotNullWithoutDefault(Rule):
    """A column that ends up NOT NULL without a database default breaks the old release's inserts.

    Why is this bad?
        The running release does not know the new column, so its INSERTs leave it out;
        without a database default they fail with a not-null violation until the new
        code is live. This is what Django's AddField does for a NOT NULL field: it adds
        the column with a default and drops the default in the same migration. Plain
        ADD COLUMN ... NOT NULL without a default also fails outright on a table with rows.
        The same holds for a column the plan adds nullable, fills (a RunPython, an
        UPDATE) and then makes NOT NULL without a database default: the running release
        still leaves it NULL, and its inserts fail from that migration's commit.
        A later pending migration that sets a database default on the column again
        (SET DEFAULT) closes the gap, and then neither is reported; nor are tables
        created in the plan, which the running release does not use.

    Example:
        ALTER TABLE "orders_orderline" ADD COLUMN "line_total" numeric(12, 2) DEFAULT 0 NOT NULL;
        ALTER TABLE "orders_orderline" ALTER COLUMN "line_total" DROP DEFAULT;
        -- or: added NULL, filled by a RunPython, then
        ALTER TABLE "orders_orderline" ALTER COLUMN "line_total" SET NOT NULL;

    Use instead:
        Keep a database default: Django 5.0+ `db_default=...` on the field; before 5.0,
        add the field with `null=True`, deploy, then make it NOT NULL in a later release.
    """

    code = "BR303"
    name = "not-null-without-default"
    category = Category.BREAKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        for table, cmd in commands(statement.node, AT.AT_AddColumn):
            column = cmd.def_
            if not isinstance(column, ast.ColumnDef) or context.is_new(table):
                continue
            kinds = {c.contype for c in column.constraints or ()}
            filled = {CONSTR.CONSTR_DEFAULT, CONSTR.CONSTR_IDENTITY, CONSTR.CONSTR_GENERATED}
            if CONSTR.CONSTR_NOTNULL in kinds and not kinds & filled:
                yield self.finding(
                    f"{table}.{column.colname} is added NOT NULL without a default: it fails on a table with rows, "
                    "and the old release's inserts fail",
                    "give it a database default (Django 5.0+: db_default), or add it nullable first",
                    table=table,
                    column=column.colname,
                )
        for table, cmd in commands(statement.node, AT.AT_ColumnDefault):
            if (
                cmd.def_ is None
                and context.state.added_columns.get((table or "", cmd.name or ""))
                and not context.is_new(table)
                and not context.default_set_later(table, cmd.name)
            ):
                yield self.finding(
                    f"{table}.{cmd.name} was added NOT NULL and its default is dropped: inserts from the running "
                    "release, which does not know the column, will fail",
                    "keep a database default (Django 5.0+: db_default), or add the field null=True first",
                    table=table,
                    column=cmd.name,
                )
        for table, cmd in commands(statement.node, AT.AT_SetNotNull):
            key = (table or "", cmd.name or "")
            if (
                context.state.added_columns.get(key) is False  # added nullable earlier in the plan
                and not context.is_new(table)
                and not context.state.column_defaults.get(key)
                and not context.default_set_later(table, cmd.name)
            ):
                yield self.finding(
                    f"{table}.{cmd.name} was added earlier in the plan and becomes NOT NULL without a database "
                    "default: the running release does not know the column, so its inserts leave it NULL and fail "
                    "until the new code is live",
                    "give the column a database default (Django 5.0+: db_default), or make it NOT NULL in a later "
                    "release, once the code that fills it is live",
                    table=table,
                    column=cmd.name,
                )
