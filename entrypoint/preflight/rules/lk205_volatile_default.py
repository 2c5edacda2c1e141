from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.nodes import AT, CONSTR, commands, function_names, type_name
from preflight.sql.parse import Statement

# Used when the copy cannot be asked (lint-sql): PostgreSQL's volatile built-ins that
# turn up in defaults. With a copy, pg_proc.provolatile decides, extensions included.
VOLATILE = frozenset(
    {
        "random",
        "clock_timestamp",
        "timeofday",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "nextval",
        "setseed",
        "txid_current",
        "pg_current_xact_id",
    }
)
SERIAL = {"serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"}


class AddColumnVolatileDefault(Rule):
    """ADD COLUMN with a volatile default (or identity/serial/stored generated) rewrites the table.

    Why is this bad?
        Since PostgreSQL 11 a constant default is stored in the catalog and adding the
        column is instant, but a volatile default (random(), clock_timestamp(),
        gen_random_uuid(), nextval(), ...) must be computed for every existing row: the
        whole table is rewritten under an ACCESS EXCLUSIVE lock. Before PostgreSQL 11
        every non-null default did this. Volatility is read from the copy's pg_proc.

    Example:
        ALTER TABLE "orders_order" ADD COLUMN "token" uuid DEFAULT gen_random_uuid() NOT NULL;

    Use instead:
        Add the column without a default (or with a constant one), backfill it in
        batches, then set the default for new rows.
    """

    code = "LK205"
    name = "add-column-volatile-default"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        volatile = context.facts.volatile_functions or VOLATILE
        old_server = context.facts.server_version_num is not None and context.facts.server_version_num < 110000
        for table, cmd in commands(statement.node, AT.AT_AddColumn):
            column = cmd.def_
            if not isinstance(column, ast.ColumnDef):
                continue
            reason = None
            if type_name(column.typeName) in SERIAL:
                reason = f"its type {type_name(column.typeName)} fills every row from a sequence"
            for constraint in column.constraints or ():
                if constraint.contype == CONSTR.CONSTR_IDENTITY:
                    reason = "an identity column fills every row from a sequence"
                elif constraint.contype == CONSTR.CONSTR_GENERATED:
                    reason = "a stored generated column is computed for every row"
                elif constraint.contype == CONSTR.CONSTR_DEFAULT and constraint.raw_expr is not None:
                    called = sorted(function_names(constraint.raw_expr) & volatile)
                    if called:
                        reason = f"its default calls volatile {', '.join(called)}()"
                    elif old_server and not _is_null(constraint.raw_expr):
                        reason = "before PostgreSQL 11 any default is written into every row"
            if reason is None:
                continue
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            yield self.finding(
                f"adding {table}.{column.colname} rewrites the table ({reason}), blocking reads and writes"
                f"{context.size_note(table)}",
                "add the column without that default, backfill in batches, then set the default for new rows",
                severity=severity,
                table=table,
                column=column.colname,
                rows=context.rows(table),
            )


def _is_null(expression: object) -> bool:
    return isinstance(expression, ast.A_Const) and bool(expression.isnull)
