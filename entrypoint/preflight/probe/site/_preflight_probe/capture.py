"""What each executed statement did: its time and rows, the locks it took, what it rewrote.

StatementRecorder is the connection's execute_wrapper; Capture reads pg_locks and
pg_class after each statement. Per statement, the cost does not grow with the number of
statements before it: entries are found by key in a dict, a migration keeps at most
MAX_STATEMENTS of them (the rest are counted), and the normalize cache is bounded.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable

from _preflight_probe.errors import Detail, redact_rows, safe

INTERNAL_MARKERS = (
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "pg_catalog.",
    "information_schema.",
    "FROM pg_",
    "JOIN pg_",
)
MAX_STATEMENTS = 500  # distinct entries per migration; the rest are counted, not listed

USER_RELATIONS = """
    SELECT c.oid, c.relname, c.relkind, c.relfilenode FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm', 'i')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relkind DESC, c.relname
"""
HELD_LOCKS = """
    SELECT c.oid, c.relname, c.relkind, l.mode FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
      AND c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relname, l.mode
"""
DDL = ("ALTER", "CREATE", "DROP", "CLUSTER", "VACUUM", "REINDEX", "TRUNCATE", "REFRESH", "DO")
BOOKKEEPING = ("django_migrations", "django_content_type", "auth_permission")


class Capture:
    """What each statement did to the copy: locks it took, relations it rewrote.

    Reads pg_locks and pg_class on the migrating connection itself (through the raw
    DB-API connection, so Django's execute wrappers do not see these queries) right
    after each statement; in a transaction, locks are then held until it commits.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.at_plan_start: set[int] = set()
        self.relations: dict[int, tuple[str, str, int]] = {}  # oid -> (relname, relkind, relfilenode)
        self.sizes: dict[int, int] = {}  # oid -> bytes at migration start
        self.seen_locks: set[tuple[int, str]] = set()

    def _rows(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(query, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def start_plan(self) -> None:
        self.at_plan_start = {row[0] for row in self._rows(USER_RELATIONS)}

    def start_migration(self) -> None:
        rows = self._rows(USER_RELATIONS)
        self.relations = {oid: (name, kind, node) for oid, name, kind, node in rows}
        self.sizes = dict(
            self._rows(USER_RELATIONS.replace("c.relname, c.relkind, c.relfilenode", "pg_relation_size(c.oid)"))
        )
        self.seen_locks = set()

    def after(self, sql: str) -> tuple[list[Detail], list[Detail]]:
        """Return (locks newly held, rewrites) after a statement that succeeded."""
        locks: list[Detail] = []
        for oid, name, kind, mode in self._rows(HELD_LOCKS):
            if name in BOOKKEEPING or (oid, mode) in self.seen_locks:
                continue
            self.seen_locks.add((oid, mode))
            locks.append({"relation": name, "kind": kind, "mode": mode, "new_in_plan": oid not in self.at_plan_start})
        rewrites: list[Detail] = []
        if sql.lstrip().upper().startswith(DDL):
            current = {oid: (name, kind, node) for oid, name, kind, node in self._rows(USER_RELATIONS)}
            for oid, (name, kind, node) in current.items():
                before = self.relations.get(oid)
                if before is not None and before[2] != node:
                    after = self._rows("SELECT pg_relation_size(%s)", [oid])[0][0]
                    rewrites.append(
                        {
                            "relation": name,
                            "kind": "table" if kind in "rpm" else "index",
                            "before_bytes": self.sizes.get(oid),
                            "after_bytes": after,
                            "new_in_plan": oid not in self.at_plan_start,
                        }
                    )
            self.relations = current
        return locks, rewrites


# Literals and placeholders, found with a small lexer (the probe has only the standard
# library: PostgreSQL's own scanner, pglast, is not in the project's interpreter).
# Quoted identifiers and comments are matched only so that what is inside them is kept.
_TOKENS = re.compile(
    r"""
      (?P<keep>"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)
    | (?P<value>(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'
        | (?<![\w$])(?:[BbXxNn]|[Uu]&)?'(?:[^']|'')*'
        | \$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$
        | (?<![\w$.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<placeholder>%(?:\([^)]*\))?s)
    """,
    re.S | re.X,
)
_VALUE = "\x00"
_LIST = re.compile(r"\x00(?:\s*,\s*\x00)+")  # IN (%s, %s, ...) of any length
_ROWS = re.compile(r"\(\x00\)(?:\s*,\s*\(\x00\))+")  # VALUES (...), (...) of any length
_SAVEPOINT = re.compile(r"^\s*((?:RELEASE\s+|ROLLBACK\s+TO\s+)?SAVEPOINT)\s+\S+\s*$", re.I)
_NORMAL_CACHE = 10_000  # raw SQL texts remembered; a loop repeats a handful of them


def normalize(sql: str) -> str:
    """Return the key under which repeats of an executed statement are folded.

    The same for statements that differ only in literal values, in the length of a list
    of values (IN (...), VALUES rows) or in a savepoint's name, as pg_stat_statements
    would count them. A schema change is its own key: its locks and rewrites are read.
    """
    if sql.lstrip()[:9].upper().startswith(DDL):
        return sql
    savepoint = _SAVEPOINT.match(sql)
    if savepoint:
        return savepoint.group(1).upper()
    key = _TOKENS.sub(lambda m: m.group("keep") or _VALUE, sql)
    return _ROWS.sub("(" + _VALUE + ")", _LIST.sub(_VALUE, key))


def without_values(sql: str) -> str:
    """Return `sql` with every literal value replaced by a placeholder."""
    return _TOKENS.sub(lambda m: "%s" if m.group("value") else m.group(0), sql)


class StatementRecorder:
    """An execute_wrapper that keeps every statement's SQL, duration and row count.

    Parameters are never kept (a data migration's values may be personal data); the SQL
    keeps its placeholders and the count of parameter sets. Repeats of a statement in a
    migration (a data migration's loop: SELECT, UPDATE, SELECT, UPDATE ... or the same
    UPDATE with other inlined values) are folded into one entry per operation with a
    count, the total and the longest time, the total rows, the first start and the
    locks seen the first time (see normalize). At most MAX_STATEMENTS distinct entries
    are kept; past that, the migration's statements are counted (distinct, executions,
    time, rows), never dropped silently. A failing statement, and Django's bookkeeping,
    are always kept.
    """

    def __init__(self, capture: Capture | None = None) -> None:
        self.capture = capture
        self.normal: dict[str, str] = {}  # raw SQL -> normalize(raw)
        self.operation: int | None = None
        self.reset()

    def at_operation(self, index: int | None, schema_editor: Any = None, deferred: bool = False) -> None:
        self.operation = index

    def reset(self) -> None:
        """Start a migration: nothing recorded yet."""
        self.statements: list[Detail] = []
        self.failed: Detail | None = None
        self.operation = None
        self.entries: dict[tuple[str, int | None], Detail] = {}  # (key, operation) -> entry
        self.varied: set[int] = set()  # entries folding different texts: they show the SQL without values
        self.omitted_distinct: set[int] = set()
        self.omitted: dict[str, Any] = {"executions": 0, "ms": 0.0, "rows": 0}
        self.started = time.perf_counter()

    def omitted_summary(self) -> Detail:
        """What was executed but not kept: distinct statements, executions, time, rows."""
        dropped = self.omitted
        return {
            "statements_omitted": len(self.omitted_distinct),
            "omitted_executions": dropped["executions"],
            "omitted_ms": dropped["ms"],
            "omitted_rows": dropped["rows"],
        }

    def __call__(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        error: str | None = None
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            error = redact_rows(f"{type(exc).__name__}: {str(exc).strip()}")
            raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000.0
            cursor: Any = context.get("cursor")
            rows = safe(lambda: cursor.rowcount, -1) if error is None else None
            offset = (started - self.started) * 1000.0
            text = str(sql)
            entry = self._add(text, elapsed, rows, error, many, params, offset)
            if entry is not None and self.capture is not None and error is None:
                locks, rewrites = self.capture.after(text)
                entry["locks"] += locks
                entry["rewrites"] += rewrites

    def _normalize(self, sql: str) -> str:
        found = self.normal.get(sql)
        if found is None:
            if len(self.normal) >= _NORMAL_CACHE:
                self.normal.clear()
            found = self.normal[sql] = normalize(sql)
        return found

    def _add(
        self,
        sql: str,
        elapsed: float,
        rows: int | None,
        error: str | None,
        many: bool,
        params: Any,
        offset: float = 0.0,
    ) -> Detail | None:
        """Fold the statement into its entry; return the entry when its locks are to be read."""
        key = self._normalize(sql)
        found = self.entries.get((key, self.operation)) if error is None else None
        if found is not None:
            entry = found
            entry["count"] += 1
            entry["duration_ms"] += elapsed
            entry["max_ms"] = max(entry["max_ms"], elapsed)
            if rows is not None and rows >= 0:
                entry["rows"] = max(entry["rows"] or 0, 0) + rows
            if entry["sql"] != sql and id(entry) not in self.varied:
                entry["sql"] = without_values(sql)  # different values: show none of them
                self.varied.add(id(entry))
            # A repeated query takes the locks it took the first time; a schema change is
            # read again (the same ALTER twice can rewrite twice).
            return entry if sql.lstrip()[:9].upper().startswith(DDL) else None
        internal = any(marker in sql for marker in INTERNAL_MARKERS)  # Django's bookkeeping: a few, kept
        if len(self.statements) >= MAX_STATEMENTS and error is None and not internal:
            dropped = self.omitted
            self.omitted_distinct.add(hash((key, self.operation)))
            dropped["executions"] += 1
            dropped["ms"] += elapsed
            dropped["rows"] += max(rows or 0, 0)
            return None
        entry = {
            "sql": sql,
            "started_ms": offset,
            "operation": self.operation,
            "locks": [],
            "rewrites": [],
            "duration_ms": elapsed,  # all executions together
            "max_ms": elapsed,
            "rows": rows,
            "count": 1,
            "params": len(params) if params is not None and not many else (len(params) if many else 0),
            "many": bool(many),
            "internal": internal,
            "error": error,
        }
        if error is not None:
            self.failed = entry
        else:
            self.entries[(key, self.operation)] = entry
        self.statements.append(entry)
        return entry


def summarize(entry: Detail, atomic: bool) -> tuple[list[Detail], list[Detail]]:
    """Per migration: each lock with how long it was held, and each rewrite."""
    locks: list[Detail] = []
    rewrites: list[Detail] = []
    for index, statement in enumerate(entry["statements"]):
        for lock in statement.get("locks", ()):
            # In a transaction a lock is held from its statement until the commit.
            held = entry["duration_ms"] - statement["started_ms"] if atomic else statement["duration_ms"]
            locks.append(dict(lock, statement=index, operation=statement["operation"], held_ms=held))
        for rewrite in statement.get("rewrites", ()):
            rewrites.append(dict(rewrite, statement=index, operation=statement["operation"]))
    return locks, rewrites
