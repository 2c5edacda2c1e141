"""A normalised snapshot of a database's catalog, and the exact differences between two.

What `--verify` compares after building one database from zero with the original history
and one with the squashed history: not a text diff of pg_dump (whose order, comments and
OIDs move with the history), but each object the user's schemas hold, by name, with what
PostgreSQL itself says about it:

- tables (and their kind: table, partitioned table, view, materialized view, foreign table);
- columns: type (format_type), nullability, default (pg_get_expr), identity, generated;
- constraints: type and pg_get_constraintdef (NOT NULL is the column's nullability);
- indexes: pg_get_indexdef (those that back a constraint are the constraint);
- sequences: type, start, increment, min, max, cycle, and the column that owns it;
- views and materialized views: pg_get_viewdef; triggers: pg_get_triggerdef; functions:
  pg_get_functiondef; extensions: name and version.

Only the user's schemas: never pg_catalog, information_schema or pg_toast (nor temp
schemas). Read-only: one read-only transaction of catalog queries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

# The order differences are listed in: the containers first.
KINDS = ("extension", "table", "column", "constraint", "index", "sequence", "view", "trigger", "function")
USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
"""
RELATION_KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}

Attributes = Mapping[str, str]


@dataclass(frozen=True)
class Snapshot:
    """Every object of the user's schemas: (kind, qualified name) -> its attributes, as text."""

    objects: Mapping[tuple[str, str], Attributes]


def _name(schema: str, *parts: str) -> str:
    """Qualify a name by its schema unless that is public (what a Django project nearly always uses)."""
    return ".".join(parts if schema == "public" else (schema, *parts))


QUERIES: dict[str, str] = {
    "extension": """
        SELECT e.extname, e.extversion FROM pg_extension e WHERE e.extname <> 'plpgsql'
    """,
    "table": f"""
        SELECT c.relname, n.nspname, c.relkind::text, c.relpersistence::text,
               coalesce(obj_description(c.oid, 'pg_class'), '')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS}
    """,
    "column": f"""
        SELECT c.relname, n.nspname, a.attname, format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text,
               coalesce(col_description(c.oid, a.attnum), ''),
               coalesce((SELECT co.collname FROM pg_collation co
                         WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation), '')
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_SCHEMAS}
    """,
    "constraint": f"""
        SELECT con.conname, n.nspname, c.relname, con.contype::text, pg_get_constraintdef(con.oid, true)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE con.contype <> 'n' AND {USER_SCHEMAS}
    """,
    "index": f"""
        SELECT i.relname, n.nspname, t.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.oid AND con.conrelid = t.oid)
          AND {USER_SCHEMAS}
    """,
    "sequence": f"""
        SELECT c.relname, n.nspname, format_type(s.seqtypid, NULL), s.seqstart::text, s.seqincrement::text,
               s.seqmin::text, s.seqmax::text, CASE WHEN s.seqcycle THEN 'cycle' ELSE 'no cycle' END,
               coalesce((SELECT t.relname || '.' || a.attname
                         FROM pg_depend dep
                         JOIN pg_class t ON t.oid = dep.refobjid
                         JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
                         WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
                           AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
                         LIMIT 1), '')
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS}
    """,
    "view": f"""
        SELECT c.relname, n.nspname, c.relkind::text, pg_get_viewdef(c.oid, true)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMAS}
    """,
    "trigger": f"""
        SELECT tg.tgname, n.nspname, c.relname, pg_get_triggerdef(tg.oid, true)
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND {USER_SCHEMAS}
    """,
    "function": f"""
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', n.nspname,
               pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_proc'::regclass
                          AND dep.objid = p.oid AND dep.deptype = 'e')
          AND {USER_SCHEMAS}
    """,
}


def _rows(kind: str, row: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Turn one catalog row into the object's name and attributes."""
    if kind == "extension":
        return row[0], {"version": row[1]}
    if kind == "table":
        name, schema, relkind, persistence, comment = row
        return _name(schema, name), {
            "kind": RELATION_KINDS[relkind],
            "persistence": {"p": "logged", "u": "unlogged", "t": "temporary"}.get(persistence, persistence),
            "comment": comment,
        }
    if kind == "column":
        table, schema, column, type_, nullable, default, identity, generated, comment, collation = row
        return _name(schema, table, column), {
            "type": type_,
            "nullability": nullable,
            "default": "" if generated else default,
            "identity": {"a": "generated always", "d": "generated by default"}.get(identity, ""),
            "generated": f"always as ({default}) stored" if generated else "",
            "comment": comment,
            "collation": collation,
        }
    if kind == "constraint":
        name, schema, table, contype, definition = row
        types = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion", "t": "trigger"}
        return _name(schema, table, name), {"type": types.get(contype, contype), "definition": definition}
    if kind == "index":
        name, schema, table, definition = row
        return _name(schema, name), {"table": _name(schema, table), "definition": definition}
    if kind == "sequence":
        name, schema, type_, start, increment, minimum, maximum, cycle, owner = row
        return _name(schema, name), {
            "type": type_,
            "start": start,
            "increment": increment,
            "min": minimum,
            "max": maximum,
            "cycle": cycle,
            "owned by": owner,
        }
    if kind == "view":
        name, schema, relkind, definition = row
        return _name(schema, name), {"kind": RELATION_KINDS[relkind], "definition": " ".join(definition.split())}
    if kind == "trigger":
        name, schema, table, definition = row
        return _name(schema, table, name), {"definition": definition}
    name, schema, definition = row  # function
    return _name(schema, name), {"definition": definition.strip()}


def snapshot(conninfo: str) -> Snapshot:
    """Read every object of the database's user schemas, in one read-only transaction."""
    objects: dict[tuple[str, str], Attributes] = {}
    with psycopg.connect(conninfo, connect_timeout=10) as conn:
        conn.read_only = True
        with conn.transaction():
            for kind in KINDS:
                for row in conn.execute(QUERIES[kind]).fetchall():  # type: ignore[arg-type]
                    name, attributes = _rows(kind, tuple("" if v is None else str(v) for v in row))
                    objects[(kind, name)] = attributes
    return Snapshot(objects)


def _show(value: str) -> str:
    return value if value else "none"


def _unnamed(kind: str, name: str, attributes: Attributes) -> tuple[str, ...]:
    """What an index or constraint is without its name: a renamed one is the same object."""
    leaf = name.rsplit(".", 1)[-1]
    definition = attributes.get("definition", "")
    if kind == "index":  # CREATE [UNIQUE] INDEX <name> ON ...
        definition = re.sub(rf"^(CREATE (?:UNIQUE )?INDEX ){re.escape(leaf)} ", r"\1", definition)
        return (attributes.get("table", ""), definition)
    return (name.rsplit(".", 1)[0], attributes.get("type", ""), definition)


def diff(original: Snapshot, squashed: Snapshot) -> tuple[str, ...]:
    """Every difference, one line each: 'column ledger_entry.memo: type varchar(490) vs varchar(480)'.

    Read "vs" as: the original history's database vs the squashed history's. An index or
    constraint with the same definition under two names is one line saying so.
    """
    lines: list[tuple[int, str, str]] = []
    only_original = {key: attrs for key, attrs in original.objects.items() if key not in squashed.objects}
    only_squashed = {key: attrs for key, attrs in squashed.objects.items() if key not in original.objects}
    for kind in ("index", "constraint"):
        by_shape = {
            _unnamed(kind, name, attrs): (kind, name) for (k, name), attrs in only_squashed.items() if k == kind
        }
        for (k, name), attrs in sorted(only_original.items()):
            other = by_shape.pop(_unnamed(kind, name, attrs), None) if k == kind else None
            if other is None:
                continue
            del only_original[(k, name)], only_squashed[other]
            lines.append(
                (
                    KINDS.index(kind),
                    name,
                    f"{kind} {name} is named {other[1]} in the squashed history (same definition)",
                )
            )
    for (kind, name), attrs in only_original.items():
        lines.append((KINDS.index(kind), name, f"{kind} only in the original history: {name}{_summary(attrs)}"))
    for (kind, name), attrs in only_squashed.items():
        lines.append((KINDS.index(kind), name, f"{kind} only in the squashed history: {name}{_summary(attrs)}"))
    for key in sorted(original.objects.keys() & squashed.objects.keys()):
        before, after = original.objects[key], squashed.objects[key]
        for attribute in dict.fromkeys([*before, *after]):
            a, b = before.get(attribute, ""), after.get(attribute, "")
            if a != b:
                kind, name = key
                lines.append((KINDS.index(kind), name, f"{kind} {name}: {attribute} {_show(a)} vs {_show(b)}"))
    return tuple(line for _, _, line in sorted(lines))


def _summary(attributes: Attributes) -> str:
    """The one attribute that says what a missing object was (its definition or type)."""
    for attribute in ("definition", "type", "version", "kind"):
        if attributes.get(attribute):
            return f" ({attributes[attribute]})"
    return ""
