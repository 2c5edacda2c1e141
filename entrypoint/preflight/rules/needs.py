"""What the rules need to know from the copy about a list of statements. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from pglast import ast

from preflight.evidence.facts import Needs
from preflight.rules.types import split
from preflight.sql.nodes import (
    AT,
    CONSTR,
    column_list,
    commands,
    constraints,
    function_names,
    index_columns,
    indexes_dropped,
    new_type,
    predicate,
    walk,
)
from preflight.sql.parse import Statement, relation_name

__all__ = ["Needs", "needs"]


def needs(statements: Iterable[Statement]) -> Needs:
    """What the copy must be asked (evidence.catalog) for the rules to judge `statements`."""
    found = Needs()
    for statement in statements:
        node = statement.node
        if node is None:
            continue
        for child in walk(node):
            if isinstance(child, ast.RangeVar):
                found.tables.add(relation_name(child) or "")
        for table, cmd in commands(node, AT.AT_AlterColumnType, AT.AT_ColumnDefault):
            found.columns.add((table or "", cmd.name or ""))
        for table, cmd in commands(node, AT.AT_AlterColumnType):
            base, mods = split(new_type(cmd))
            if base in ("character varying", "character") and mods:
                found.lengths.add((table or "", cmd.name or "", mods[0]))
        for table, cmd in commands(node, AT.AT_SetNotNull):
            found.nulls.add((table or "", cmd.name or ""))
        for table, constraint, column in constraints(node):
            if constraint.contype in (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY):
                found.uniques.add(table or "")
                if column is None:
                    found.duplicates.add((table or "", column_list(constraint.keys)))
            if constraint.contype == CONSTR.CONSTR_DEFAULT and constraint.raw_expr is not None:
                found.functions |= function_names(constraint.raw_expr)
        if isinstance(node, ast.IndexStmt) and node.unique:
            table = relation_name(node.relation) or ""
            found.uniques.add(table)
            columns = index_columns(node)
            if columns and node.whereClause is None:
                found.duplicates.add((table, columns))
            elif columns:
                found.duplicates_where.add((table, columns, predicate(node)))
        found.indexes |= {name for _, name, _ in indexes_dropped(node)}
    return found
