"""Count the rows that made a migration fail on the copy (after its rollback).

An edge module: it parses the failing statement with pglast to find the table and
columns, then counts on the copy, which an atomic migration left as it was before.
"""

from __future__ import annotations

import contextlib
import re

import psycopg
from pglast import ast

from preflight.evidence.catalog import duplicate_rows, null_rows
from preflight.evidence.measured import FailureFacts
from preflight.sql.nodes import AT, CONSTR, column_list, commands, constraints, index_columns
from preflight.sql.parse import parse, relation_name


def target(statement: str, sqlstate: str) -> tuple[str | None, tuple[str, ...], str | None]:
    """(table, columns, constraint name) the failing statement was adding."""
    for parsed in parse(statement):
        node = parsed.node
        if sqlstate == "23505":
            if isinstance(node, ast.IndexStmt) and node.unique:
                return relation_name(node.relation), index_columns(node) or (), node.idxname
            for table, constraint, _ in constraints(node):
                if constraint.contype in (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY):
                    return table, column_list(constraint.keys), constraint.conname
        if sqlstate == "23502":
            for table, cmd in commands(node, AT.AT_SetNotNull):
                return table, (cmd.name or "",), None
    return None, (), None


WRITES = {ast.UpdateStmt: "UPDATE", ast.InsertStmt: "INSERT", ast.DeleteStmt: "DELETE"}
# The constraint PostgreSQL names in the error: 'violates unique constraint "x"'.
VIOLATES = re.compile(r'violates (?:unique|check|foreign key|exclusion) constraint "([^"]+)"')


def write_of(statement: str) -> str | None:
    """UPDATE, INSERT or DELETE when the failing statement is a data change."""
    for parsed in parse(statement):
        for kind, verb in WRITES.items():
            if isinstance(parsed.node, kind):
                return verb
    return None


def count(
    conn: psycopg.Connection, statement: str | None, sqlstate: str | None, error: str | None = None
) -> FailureFacts | None:
    """What the copy says about a data-dependent failure; None for other failures."""
    if not statement or sqlstate not in ("23505", "23502", "23514", "23503"):
        return None
    table, columns, constraint = target(statement, sqlstate)
    named = VIOLATES.search(error or "")
    facts = FailureFacts(
        sqlstate=sqlstate,
        table=table,
        columns=columns,
        constraint=constraint or (named.group(1) if named else None),
        write=write_of(statement) if table is None else None,
    )
    if not table or not columns:
        return facts
    with contextlib.suppress(psycopg.Error):  # the count helps; the failure is reported either way
        if sqlstate == "23505":
            facts.violating_rows = duplicate_rows(conn, table, columns)
        else:
            facts.violating_rows = null_rows(conn, table, columns[0])
    return facts
