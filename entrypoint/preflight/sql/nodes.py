"""Small readers of pglast parse trees, shared by the rules and the evidence layer. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast, enums
from pglast.stream import RawStream

from preflight.sql.parse import relation_name

AT = enums.AlterTableType
CONSTR = enums.ConstrType
OBJ = enums.ObjectType


def alter_table(node: Any) -> tuple[str | None, list[ast.AlterTableCmd]]:
    """Return (table, subcommands) of an ALTER TABLE, else (None, [])."""
    if isinstance(node, ast.AlterTableStmt) and node.objtype == OBJ.OBJECT_TABLE:
        return relation_name(node.relation), list(node.cmds or ())
    return None, []


def commands(node: Any, *subtypes: AT) -> Iterator[tuple[str | None, ast.AlterTableCmd]]:
    table, cmds = alter_table(node)
    for cmd in cmds:
        if cmd.subtype in subtypes:
            yield table, cmd


def constraints(node: Any) -> Iterator[tuple[str | None, ast.Constraint, ast.ColumnDef | None]]:
    """Yield (table, constraint, column) for every constraint an ALTER TABLE adds,
    including those written inline in ADD COLUMN."""
    for table, cmd in commands(node, AT.AT_AddConstraint, AT.AT_AddColumn):
        if isinstance(cmd.def_, ast.Constraint):
            yield table, cmd.def_, None
        elif isinstance(cmd.def_, ast.ColumnDef):
            for constraint in cmd.def_.constraints or ():
                yield table, constraint, cmd.def_


def names(values: Any) -> list[str]:
    return [str(value.sval) for value in values or () if isinstance(value, ast.String)]


def dotted(values: Any) -> str:
    parts = names(values)
    return ".".join(part for part in parts if part != "public" or len(parts) == 1)


def type_name(node: ast.TypeName | None) -> str:
    """Return a type as format_type() writes it, e.g. 'character varying(20)'."""
    if node is None:
        return ""
    base = [n for n in names(node.names) if n != "pg_catalog"][-1]
    canonical = {
        "varchar": "character varying",
        "int4": "integer",
        "int8": "bigint",
        "int2": "smallint",
        "bpchar": "character",
        "float8": "double precision",
        "float4": "real",
        "bool": "boolean",
        "timestamptz": "timestamp with time zone",
        "timestamp": "timestamp without time zone",
        "timetz": "time with time zone",
        "time": "time without time zone",
        "decimal": "numeric",
        "int": "integer",
    }.get(base, base)
    mods = [
        str(m.val.ival) for m in node.typmods or () if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer)
    ]
    return f"{canonical}({','.join(mods)})" if mods else canonical


def column_list(values: Any) -> tuple[str, ...]:
    return tuple(str(v.sval) if isinstance(v, ast.String) else str(v) for v in values or ())


def new_type(cmd: ast.AlterTableCmd) -> str:
    """The type an ALTER COLUMN ... TYPE changes to."""
    return type_name(cmd.def_.typeName) if isinstance(cmd.def_, ast.ColumnDef) else ""


def index_columns(node: ast.IndexStmt) -> tuple[str, ...] | None:
    """Plain column names of an index, or None when it has expressions."""
    columns = []
    for element in node.indexParams or ():
        if not element.name:
            return None
        columns.append(element.name)
    return tuple(columns)


def function_names(node: Any) -> set[str]:
    """Names of every function called anywhere inside a parse tree."""
    found: set[str] = set()
    for child in walk(node):
        if isinstance(child, ast.FuncCall):
            found.add(names(child.funcname)[-1].lower())
        if isinstance(child, ast.SQLValueFunction) and child.op is not None:
            found.add(str(child.op.name).removeprefix("SVFOP_").lower())
    return found


def walk(node: Any) -> Iterator[Any]:
    """Every node of a parse tree, depth first."""
    if isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from walk(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from walk(item)


def named(kind: str, name: str | None) -> str:
    """'foreign key fk_x' or just 'foreign key' when the constraint has no name."""
    return f"{kind} {name}" if name else kind


def has_option(options: Any, name: str) -> bool:
    return any(isinstance(o, ast.DefElem) and o.defname == name for o in options or ())


def indexes_created(node: Any) -> Iterator[tuple[str, str | None, str | None]]:
    """(table, name, leading column) of every index a statement builds: CREATE INDEX, and the
    index behind ADD CONSTRAINT ... UNIQUE / PRIMARY KEY / EXCLUDE or an inline UNIQUE.

    The leading column is None for an expression; the name None when PostgreSQL picks it.
    """
    if isinstance(node, ast.IndexStmt):
        first = (node.indexParams or (None,))[0]
        yield relation_name(node.relation) or "", node.idxname, first.name if first is not None else None
    indexed = (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY, CONSTR.CONSTR_EXCLUSION)
    for table, constraint, column in constraints(node):
        if constraint.contype not in indexed or constraint.indexname:
            continue  # USING INDEX adopts an index that exists already
        if column is not None:
            yield table or "", constraint.conname, column.colname
        elif constraint.contype == CONSTR.CONSTR_EXCLUSION:
            yield table or "", constraint.conname, None
        else:
            keys = column_list(constraint.keys)
            yield table or "", constraint.conname, keys[0] if keys else None


def indexes_dropped(node: Any) -> Iterator[tuple[str | None, str, bool]]:
    """(table if named, name, is a constraint) for DROP INDEX and ALTER TABLE ... DROP CONSTRAINT."""
    if isinstance(node, ast.DropStmt) and node.removeType == OBJ.OBJECT_INDEX:
        for obj in node.objects or ():
            yield None, dotted(obj), False
    for table, cmd in commands(node, AT.AT_DropConstraint):
        yield table, cmd.name or "", True


def predicate(node: ast.IndexStmt) -> str:
    """A partial index's WHERE, as SQL (pglast's deparse: the key facts are read by)."""
    return RawStream()(node.whereClause) if node.whereClause is not None else ""
