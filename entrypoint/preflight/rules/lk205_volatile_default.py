from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.evidence.facts import VOLATILE
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, CONSTR, commands, function_names, type_name
from preflight.sql.parse import Statement

__all__ = ["STABLE", "VOLATILE", "AddColumnVolatileDefault"]

# Without a copy, a function called in a default that is on neither list is possibly
# volatile, and said so. These built-ins are stable or immutable (checked against a
# real server's pg_proc by tests/test_volatile_list.py); the SQL value functions
# (current_timestamp, current_user, ...) are listed by the names nodes.function_names gives them.
STABLE = frozenset(
    {
        "now",
        "statement_timestamp",
        "transaction_timestamp",
        "current_setting",
        "txid_current",  # stable, not volatile: one value per transaction, no rewrite (measured)
        "pg_current_xact_id",
        "date_trunc",
        "date_part",
        "extract",
        "make_date",
        "make_time",
        "make_timestamp",
        "make_timestamptz",
        "make_interval",
        "to_char",
        "to_date",
        "to_timestamp",
        "to_number",
        "timezone",
        "lower",
        "upper",
        "btrim",
        "ltrim",
        "rtrim",
        "concat",
        "concat_ws",
        "length",
        "char_length",
        "md5",
        "replace",
        "substr",
        "substring",
        "left",
        "right",
        "lpad",
        "rpad",
        "repeat",
        "format",
        "abs",
        "round",
        "floor",
        "ceil",
        "ceiling",
        "trunc",
        "power",
        "json_build_object",
        "jsonb_build_object",
        "json_build_array",
        "jsonb_build_array",
        "to_json",
        "to_jsonb",
        "array_fill",
        "current_database",
        "current_schema",
        "current_date",
        "current_time",
        "current_time_n",
        "current_timestamp",
        "current_timestamp_n",
        "localtime",
        "localtime_n",
        "localtimestamp",
        "localtimestamp_n",
        "current_role",
        "current_user",
        "session_user",
        "user",
        "current_catalog",
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
        every non-null default did this. Volatility is read from the copy's pg_proc;
        without a copy (lint-sql) a function that is not a known built-in is reported
        as possibly volatile, a warning that says it could not be checked.

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
        looked_up = context.facts.volatile_functions
        volatile = VOLATILE if looked_up is None else looked_up
        old_server = context.facts.server_version_num is not None and context.facts.server_version_num < 110000
        for table, cmd in commands(statement.node, AT.AT_AddColumn):
            column = cmd.def_
            if not isinstance(column, ast.ColumnDef):
                continue
            reason, unchecked = None, False
            if type_name(column.typeName) in SERIAL:
                reason = f"its type {type_name(column.typeName)} fills every row from a sequence"
            for constraint in column.constraints or ():
                if constraint.contype == CONSTR.CONSTR_IDENTITY:
                    reason = "an identity column fills every row from a sequence"
                elif constraint.contype == CONSTR.CONSTR_GENERATED:
                    reason = "a stored generated column is computed for every row"
                elif constraint.contype == CONSTR.CONSTR_DEFAULT and constraint.raw_expr is not None:
                    called = sorted(function_names(constraint.raw_expr) & volatile)
                    unknown = sorted(function_names(constraint.raw_expr) - VOLATILE - STABLE)
                    if called:
                        reason = f"its default calls volatile {', '.join(called)}()"
                    elif old_server and not _is_null(constraint.raw_expr):
                        reason = "before PostgreSQL 11 any default is written into every row"
                    elif unknown and looked_up is None:
                        reason = f"its default calls {'(), '.join(unknown)}(), possibly volatile"
                        unchecked = True
            if reason is None:
                continue
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            if unchecked:
                yield self.finding(
                    f"adding {table}.{column.colname} may rewrite the table ({reason}: could not check without a "
                    f"database), blocking reads and writes{context.size_note(table)}",
                    "make sure the function is not VOLATILE (run preflight against a copy to check), or add the "
                    "column without that default, backfill in batches, then set the default for new rows",
                    severity=min(severity, Severity.WARNING),
                    table=table,
                    column=column.colname,
                    rows=context.rows(table),
                    checked=False,
                )
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
