"""--probe-concurrency: a second session that keeps trying a cheap read, a cheap write and
a row write on the copy's tables while the migrations run, and measures how long each waited.

An edge module (its own connection to the copy, a thread while the migrations run). Each
attempt is a transaction rolled back at once, with a short lock_timeout:
- read: LOCK TABLE ... IN ACCESS SHARE MODE (what a SELECT takes);
- write: LOCK TABLE ... IN ROW EXCLUSIVE MODE (what INSERT/UPDATE/DELETE take);
- row: SELECT ... FOR NO KEY UPDATE of one primary key sampled before the migrations
  start, the row lock an application UPDATE of a non-key column asks for (it conflicts
  with every UPDATE, DELETE and SELECT FOR UPDATE/SHARE of that row). The table's
  ROW SHARE lock is taken first and timed on its own ("share"), so the row wait counts
  only the wait on the row itself.
No row is written. Before the migrations start the same attempts run a few times with
nothing else going on: their latency is the noise floor, and a later attempt counts as a
wait only when its lock_timeout fired or it took longer than the floor. A migration is
only ever said to block tables it locked (what the probe captured) or named in its SQL.

One connection tries one table and kind at a time, so a round over the tables is long
(each blocked attempt takes its whole lock_timeout), and the next read of a locked table
may come long after the previous one. The kinds tell about each other, by PostgreSQL's
lock conflict table: every mode that makes a read (ACCESS SHARE) or the row attempt's
ROW SHARE wait also makes a write (ROW EXCLUSIVE) wait, and a granted write or ROW SHARE
means a read would have been granted too. A wait is counted up to the last attempt known
to have waited, or through the next attempt when that one came right after it and was
granted at once (the lock went while it ran). So that the next attempt comes right after,
a second connection (the follower) retries each table found locked, back to back, from
the weakest request up (a read, then a write), until both are granted: the lock's end is
then known to within one attempt, however many tables the round covers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor
from psycopg import errors, sql

from preflight.evidence.measured import Blocked
from preflight.probe.protocol import AppliedMigration
from preflight.sql.params import with_parameters

ATTEMPT_TIMEOUT_MS = 100
PAUSE_S = 0.02
BASELINE_ROUNDS = 5  # attempts per table and kind before the migrations start
FLOOR_FACTOR = 3.0  # the migration competes for the same CPUs: the probe's latency can triple
FLOOR_MIN_S = 0.050  # unblocked attempts took up to 40 ms with the CPUs oversubscribed (README, measured)
SAMPLED_ROWS = 16  # primary keys per table tried in turn
SMALL_TABLE_ROWS = 20_000  # up to this many rows (pg_class.reltuples) a full random sort is cheap
MAX_TABLES = 64  # the largest tables, besides those the pending SQL names
SAMPLE_TIMEOUT_MS = 2000
# Which kinds of attempt, when they waited, show that a kind would have waited too; and
# which, when granted, show it would have been granted (see the module docstring).
WAITS_TOO = {"read": {"read"}, "write": {"read", "write", "share"}, "row": {"row"}}
GRANTED_TOO = {"read": {"read", "write", "share"}, "write": {"write"}, "row": {"row"}}
# Row attempts try a different sampled row each time: one granted says nothing of the others.
EXTENDS = {"read", "write"}

TABLES = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
      AND c.relname NOT IN ('django_migrations', 'django_content_type', 'auth_permission')
    ORDER BY pg_relation_size(c.oid) DESC, c.relname LIMIT %s
"""
PRIMARY_KEY = """
    SELECT a.attname, c.reltuples, c.relpages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
    WHERE n.nspname = %s AND c.relname = %s
"""


@dataclass
class Sample:
    at: float  # monotonic, when the attempt started
    table: str
    kind: str  # read | write | share (the row attempt's table lock) | row
    waited_s: float
    timed_out: bool = False  # lock_timeout fired: it waited on a lock, whatever the noise


def noise_floor(latencies_s: Iterable[float]) -> float:
    """Seconds an attempt may take without having waited on a lock: max(3 × p95, 50 ms).

    p95 rather than the maximum, so one hiccup among the baseline attempts does not raise
    the floor; three times that, because the migration then competes for the same CPUs.
    """
    ordered = sorted(latencies_s)
    if not ordered:
        return FLOOR_MIN_S
    p95 = ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]
    return max(FLOOR_FACTOR * p95, FLOOR_MIN_S)


def waited(sample: Sample, floor_s: float) -> bool:
    """Whether an attempt waited on a lock: its lock_timeout fired, or it took longer than the floor."""
    return sample.timed_out or sample.waited_s > floor_s


def waited_for(samples: list[Sample], floor_s: float | Mapping[str, float], kind: str = "write") -> float:
    """Seconds a session that never gave up would have waited for `kind`, from the attempts on one table.

    Attempts that waited one after the other are one wait, from the start of the first to
    the end of the last: the lock was held in between, while the probe tried the other
    tables and kinds. Summing the attempts alone would shrink as the number of tables
    grows. Any kind counts where it tells about `kind` (WAITS_TOO, GRANTED_TOO); a wait
    ends at the first attempt granted, at its end if it came right after the last wait
    and took no longer than the floor (the lock went while it ran), else at that last wait.
    `floor_s`: one floor for every kind, or one per kind.
    """
    floors: Mapping[str, float] = floor_s if isinstance(floor_s, Mapping) else defaultdict(lambda: floor_s)
    total, first, last = 0.0, None, None
    for sample in sorted(samples, key=lambda s: s.at):
        end = sample.at + sample.waited_s
        slow = waited(sample, floors[sample.kind])
        if slow and sample.kind in WAITS_TOO[kind]:
            first = sample.at if first is None else first
            last = end if last is None else max(last, end)
            if sample.timed_out or sample.kind not in GRANTED_TOO[kind]:
                continue  # still waiting when it gave up, or its grant says nothing of `kind`
        elif sample.timed_out or sample.kind not in GRANTED_TOO[kind]:
            continue  # says nothing of `kind`: a write that timed out under a SHARE lock, for reads
        elif last is not None and kind in EXTENDS and not slow and sample.at - last <= floors[sample.kind]:
            last = max(last, end)  # right after a wait and granted at once: the lock went meanwhile
        if first is not None and last is not None:
            total += last - first
        first = last = None
    if first is not None and last is not None:
        total += last - first
    return total


@dataclass
class BlockingProbe:
    conninfo: str
    tables: list[str]  # the tables the pending SQL names; the copy's largest are added at start
    samples: list[Sample] = field(default_factory=list)
    baseline: list[Sample] = field(default_factory=list)
    keys: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)  # table -> (primary key, sampled values)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _turn: dict[str, int] = field(default_factory=dict)
    _followed: dict[str, str] = field(default_factory=dict)  # table found locked -> the kind to retry
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> BlockingProbe:
        """Sample rows and measure the noise floor now (nothing runs yet), then keep probing in threads."""
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            return self
        try:
            self.tables = _tables(conn, self.tables)
            for table in self.tables:
                self._sample_keys(conn, table)
            for _ in range(BASELINE_ROUNDS):
                self._round(conn, self.baseline)
        except psycopg.Error:
            conn.close()
            return self
        self._threads = [
            threading.Thread(target=self._loop, args=(conn,), name="preflight-blocking-probe", daemon=True)
        ]
        try:
            follower = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            pass  # the round alone still measures, one round at a time
        else:
            self._threads.append(
                threading.Thread(target=self._follow, args=(follower,), name="preflight-blocking-follower", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _loop(self, conn: psycopg.Connection) -> None:
        with conn:
            while not self._stop.is_set():
                self._round(conn, self.samples)
                self._stop.wait(PAUSE_S)

    def _round(self, conn: psycopg.Connection, into: list[Sample]) -> None:
        for table in self.tables:
            if self._stop.is_set():
                return  # the migrations are over: do not finish a round over every table
            self._record(into, self._attempt(conn, table, "read", "ACCESS SHARE"))
            self._record(into, self._attempt(conn, table, "write", "ROW EXCLUSIVE"))
            if table in self.keys:
                self._record(into, self._row_attempt(conn, table))

    def _record(self, into: list[Sample], found: list[Sample]) -> None:
        """Keep `found`; a table lock that timed out has the follower retry that table from now on."""
        with self._lock:
            into += found
            for sample in found:
                if into is self.samples and sample.timed_out and sample.kind != "row":
                    self._followed.setdefault(sample.table, "read")

    def _follow(self, conn: psycopg.Connection) -> None:
        """Retry each table the round found locked, back to back, until a read and a write are granted.

        The weakest request first: while a read waits, so would a write (WAITS_TOO), and
        a read granted at once dates the end of an ACCESS EXCLUSIVE lock; then writes,
        until one is granted at once.
        """
        with conn:
            while not self._stop.is_set():
                with self._lock:
                    followed = list(self._followed.items())
                if not followed:
                    self._stop.wait(PAUSE_S)
                    continue
                for table, kind in followed:
                    if self._stop.is_set():
                        return
                    found = self._attempt(conn, table, kind, "ACCESS SHARE" if kind == "read" else "ROW EXCLUSIVE")
                    with self._lock:
                        self.samples += found
                        if not found:
                            self._followed.pop(table, None)  # dropped meanwhile: nothing to wait for
                        elif not waited(found[0], self.floor(table, kind)):
                            if kind == "read":
                                self._followed[table] = "write"
                            else:
                                self._followed.pop(table, None)

    def _sample_keys(self, conn: psycopg.Connection, table: str) -> None:
        """Remember a few primary keys of `table`, read-only, spread over the table."""
        schema, name = _split(table)
        found = conn.execute(PRIMARY_KEY, (schema, name)).fetchone()
        if found is None:
            return  # no single-column primary key: no row attempts on it
        column, reltuples, relpages = found[0], float(found[1]), max(int(found[2]), 1)
        key, relation, limit = sql.Identifier(column), _ident(table), sql.Literal(SAMPLED_ROWS)
        queries = [sql.SQL("SELECT {} FROM {} ORDER BY random() LIMIT {}").format(key, relation, limit)]
        if not 0 <= reltuples <= SMALL_TABLE_ROWS:
            # Whole pages at random, no full scan: about ten rows per key wanted and at least
            # 8 pages expected (an empty sample then has odds below 1 in 2,000); else the first rows.
            percent = min(100.0, max(100.0 * SAMPLED_ROWS * 10 / max(reltuples, 1.0), 100.0 * 8 / relpages))
            queries = [
                sql.SQL("SELECT {} FROM {} TABLESAMPLE SYSTEM ({}) ORDER BY random() LIMIT {}").format(
                    key, relation, sql.Literal(percent), limit
                ),
                sql.SQL("SELECT {} FROM {} LIMIT {}").format(key, relation, limit),
            ]
        for query in queries:
            try:
                with conn.transaction():
                    conn.execute(f"SET LOCAL statement_timeout = '{SAMPLE_TIMEOUT_MS}ms'")
                    values = [row[0] for row in conn.execute(query)]
            except (errors.QueryCanceled, errors.LockNotAvailable):
                return
            if values:
                self.keys[table] = (column, values)
                return

    def _attempt(self, conn: psycopg.Connection, table: str, kind: str, mode: str) -> list[Sample]:
        started = time.monotonic()
        timed_out = False
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{ATTEMPT_TIMEOUT_MS}ms'")
                conn.execute(sql.SQL("LOCK TABLE {} IN " + mode + " MODE").format(_ident(table)))
                raise _Rollback
        except _Rollback:
            pass
        except (errors.LockNotAvailable, errors.QueryCanceled):
            timed_out = True  # waited the whole timeout: blocked
        except psycopg.Error:
            return []  # not created yet, or dropped: nothing to wait for
        return [Sample(started, table, kind, time.monotonic() - started, timed_out)]

    def _row_attempt(self, conn: psycopg.Connection, table: str) -> list[Sample]:
        column, values = self.keys[table]
        turn = self._turn.get(table, 0)
        self._turn[table] = turn + 1
        query = sql.SQL("SELECT 1 FROM {} WHERE {} = %s FOR NO KEY UPDATE").format(
            _ident(table), sql.Identifier(column)
        )
        began = time.monotonic()
        share: Sample | None = None
        started: float | None = None
        timed_out = False
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{ATTEMPT_TIMEOUT_MS}ms'")
                # The table lock first, timed on its own: the row wait is only the row's.
                conn.execute(sql.SQL("LOCK TABLE {} IN ROW SHARE MODE").format(_ident(table)))
                started = time.monotonic()
                share = Sample(began, table, "share", started - began)
                conn.execute(query, (values[turn % len(values)],))
                raise _Rollback
        except _Rollback:
            pass
        except (errors.LockNotAvailable, errors.QueryCanceled):
            if share is None:
                # The table lock was not granted: no row wait, but the table was locked.
                return [Sample(began, table, "share", time.monotonic() - began, timed_out=True)]
            timed_out = True
        except psycopg.Error:
            return []
        if share is None or started is None:
            return []
        return [share, Sample(started, table, "row", time.monotonic() - started, timed_out)]

    def floor(self, table: str, kind: str) -> float:
        """The noise floor of one table and kind, in seconds (from the attempts before the migrations)."""
        mine = [s.waited_s for s in self.baseline if s.table == table and s.kind == kind and not s.timed_out]
        return noise_floor(mine or [s.waited_s for s in self.baseline if not s.timed_out])

    def blocked(self, start: float, end: float, held: set[str] | None = None) -> list[Blocked]:
        """How long reads, writes and row writes waited between two monotonic times, per table.

        Only tables in `held` (the migration locked them or named them) are reported: a
        slow attempt anywhere else is the machine's noise, not the migration's lock.
        """
        result = []
        for table in self.tables:
            if held is not None and _split(table)[1] not in held:
                continue
            mine = [s for s in self.samples if s.table == table and start <= s.at < end]
            if not mine:
                continue
            floors = {kind: self.floor(table, kind) for kind in ("read", "write", "share", "row")}
            waits = {kind: waited_for(mine, floors, kind) for kind in ("read", "write", "row")}
            result.append(
                Blocked(
                    table,
                    round(waits["read"] * 1000, 1),
                    round(waits["write"] * 1000, 1),
                    len(mine),
                    round(waits["row"] * 1000, 1),
                )
            )
        return result


def held_tables(migration: AppliedMigration) -> set[str]:
    """Tables a migration locked on the copy (captured) or named in the SQL it ran, by relname."""
    names = {lock.relation for lock in migration.locks}
    visitor = _Relations()
    for statement in migration.statements:
        try:
            visitor(parse_sql(with_parameters(statement.sql)))
        except ParseError:
            continue
    return names | visitor.names


class _Relations(Visitor):  # type: ignore[misc]
    """Collect the relation names a parse tree mentions."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
        self.names.add(node.relname)


def _tables(conn: psycopg.Connection, named: list[str]) -> list[str]:
    """The tables the SQL names, then the copy's largest others (RunPython names none beforehand)."""
    largest = [
        name if schema == "public" else f"{schema}.{name}" for schema, name in conn.execute(TABLES, (MAX_TABLES,))
    ]
    return list(dict.fromkeys([*named, *largest]))


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "public", name


def _ident(table: str) -> sql.Composable:
    schema, _, name = table.rpartition(".")
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


class _Rollback(Exception):
    """Leave the transaction without committing anything."""
