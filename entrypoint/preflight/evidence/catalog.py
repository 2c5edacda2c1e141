"""Read what the rules need from the copy, before the pending migrations run.

An edge module: it takes an open connection to the copy (never the target) and returns
`Facts`. Row counts come from pg_class after the restore's ANALYZE (exact count(*) for
tables never analyzed); NULL and duplicate counts are exact.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from preflight.evidence.facts import VOLATILE, ColumnFacts, Facts, IndexFacts, Needs, TableFacts


def _split(name: str) -> tuple[str, str]:
    schema, _, table = name.rpartition(".")
    return schema or "public", table


def _ident(name: str) -> sql.Composable:
    schema, table = _split(name)
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def fetch(conn: psycopg.Connection, needs: Needs, data_known: bool) -> Facts:
    """Return the facts `needs` asks for; tables that do not exist yet are left out."""
    facts = Facts(server_version_num=conn.info.server_version, data_known=data_known, catalog=True)
    for name in sorted(needs.tables):
        schema, table = _split(name)
        row = conn.execute(
            "SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
            "AND c.relkind IN ('r', 'p', 'm')",
            (schema, table),
        ).fetchone()
        if row is None:
            continue
        rows = int(row[0])
        if rows < 0:  # never analyzed
            rows = _count(conn, sql.SQL("SELECT count(*) FROM {}").format(_ident(name)))
        facts.tables[name] = TableFacts(rows=rows, size_bytes=int(row[1]))
    for name, column in sorted(needs.columns):
        if name not in facts.tables:
            continue
        schema, table = _split(name)
        row = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s AND NOT a.attisdropped",
            (schema, table, column),
        ).fetchone()
        if row is not None:
            facts.columns[(name, column)] = ColumnFacts(type=str(row[0]), not_null=bool(row[1]), default=row[2])
    for name, column in sorted(needs.nulls):
        if name in facts.tables and _has_columns(conn, name, (column,)):
            facts.nulls[(name, column)] = null_rows(conn, name, column)
    for name, columns in sorted(needs.duplicates):
        if name in facts.tables and _has_columns(conn, name, columns):
            facts.duplicates[(name, columns)] = duplicate_rows(conn, name, columns)
    for name, columns, where in sorted(needs.duplicates_where):
        if name in facts.tables and _has_columns(conn, name, columns):
            found = duplicate_rows_where(conn, name, columns, where)
            if found is not None:
                facts.duplicates_where[(name, columns, where)] = found
    for name, column, limit in sorted(needs.lengths):
        if name in facts.tables and _has_columns(conn, name, (column,)):
            query = sql.SQL("SELECT count(*) FROM {} WHERE char_length({}::text) > {}").format(
                _ident(name), sql.Identifier(column), sql.Literal(limit)
            )
            facts.too_long[(name, column, limit)] = _count(conn, query)
    if needs.functions:
        volatility = conn.execute(
            "SELECT proname, bool_or(provolatile = 'v') FROM pg_proc WHERE proname = ANY(%s) GROUP BY proname",
            (sorted(needs.functions),),
        ).fetchall()
        known = {name for name, _ in volatility}
        # Functions the copy does not have yet (created by the plan) fall back to the built-in list.
        facts.volatile_functions = frozenset(name for name, volatile in volatility if volatile) | (VOLATILE - known)
    if needs.indexes:
        facts.index_info = indexes(conn, needs.indexes)
    uniques = {_split(name)[1] for name in needs.uniques if name in facts.tables}
    if uniques:
        facts.index_info |= unique_indexes(conn, uniques)
    facts.indexes = {name: info.table for name, info in facts.index_info.items()}
    return facts


_CONSTRAINT_KINDS = {"p": "primary key", "u": "unique", "x": "exclusion"}


def indexes(conn: psycopg.Connection, names: set[str]) -> dict[str, IndexFacts]:
    """Each named index (or index-backed constraint, by its name): its table, key columns, uniqueness, owner."""
    return _indexes(conn, "i.relname = ANY(%s)", sorted(_split(n)[1] for n in names))


def unique_indexes(conn: psycopg.Connection, tables: set[str]) -> dict[str, IndexFacts]:
    """Every unique index (and the constraint behind it) of `tables`, partial ones marked."""
    return _indexes(conn, "x.indisunique AND t.relname = ANY(%s)", sorted(tables))


def _indexes(conn: psycopg.Connection, where: str, names: list[str]) -> dict[str, IndexFacts]:
    rows = conn.execute(
        "SELECT i.relname, t.relname, x.indisunique, c.contype, x.indpred IS NOT NULL, ARRAY("
        "  SELECT CASE WHEN x.indkey[k - 1] = 0 THEN pg_get_indexdef(x.indexrelid, k, true) ELSE ("
        "    SELECT a.attname FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1]) END"
        "  FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
        "AND c.contype IN ('p', 'u', 'x') WHERE " + where,
        (names,),
    ).fetchall()
    return {
        index: IndexFacts(table, tuple(columns), bool(unique), _CONSTRAINT_KINDS.get(kind or ""), bool(partial))
        for index, table, unique, kind, partial, columns in rows
    }


def null_rows(conn: psycopg.Connection, table: str, column: str) -> int:
    """Rows whose `column` is NULL (what SET NOT NULL would trip on)."""
    return _count(
        conn, sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL").format(_ident(table), sql.Identifier(column))
    )


def duplicate_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...]) -> int:
    """Rows sharing their (non-NULL) `columns` values with another row (what UNIQUE would trip on)."""
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in columns)
    query = sql.SQL(
        "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1) g"
    ).format(_ident(table), not_null, sql.SQL(", ").join(map(sql.Identifier, columns)))
    return _count(conn, query)


def duplicate_rows_where(conn: psycopg.Connection, table: str, columns: tuple[str, ...], where: str) -> int | None:
    """Rows sharing their `columns` values within a partial unique index's WHERE; None if it cannot be run.

    The predicate is the pending migration's own SQL, which runs on this throwaway copy
    anyway; a statement_timeout bounds it, and a predicate on a column the plan adds
    (not there yet) or a function it creates fails here and leaves the count unknown.
    """
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in columns)
    query = sql.SQL(
        "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {} WHERE {} AND ({}) GROUP BY {} "
        "HAVING count(*) > 1) g"
    ).format(_ident(table), not_null, sql.SQL(where), sql.SQL(", ").join(map(sql.Identifier, columns)))
    try:
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = '60s'")
            return _count(conn, query)
    except psycopg.Error:
        return None


def _count(conn: psycopg.Connection, query: sql.Composed | str, params: tuple[object, ...] = ()) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def _has_columns(conn: psycopg.Connection, name: str, columns: tuple[str, ...]) -> bool:
    schema, table = _split(name)
    found = _count(
        conn,
        "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attname = ANY(%s) AND NOT a.attisdropped",
        (schema, table, list(columns)),
    )
    return found == len(set(columns))
