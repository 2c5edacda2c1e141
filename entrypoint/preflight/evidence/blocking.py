"""--probe-concurrency: a second session that keeps trying a cheap read and a cheap write
on the touched tables while the migrations run, and measures how long each waited.

An edge module (a thread with its own connection to the copy). The "read" is LOCK TABLE
... IN ACCESS SHARE MODE (what a SELECT takes) and the "write" LOCK TABLE ... IN ROW
EXCLUSIVE MODE (what INSERT/UPDATE/DELETE take), each in a transaction that is rolled
back at once, with a short lock_timeout: no row is read or written, only the lock is
asked for, exactly as the application's queries would ask for it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import errors, sql

from preflight.rules.measured import Blocked

ATTEMPT_TIMEOUT_MS = 100
PAUSE_S = 0.02


@dataclass
class Sample:
    at: float  # monotonic, when the attempt started
    table: str
    kind: str  # read | write
    waited_s: float


@dataclass
class BlockingProbe:
    conninfo: str
    tables: list[str]
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> BlockingProbe:
        self._thread = threading.Thread(target=self._loop, name="preflight-blocking-probe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        except psycopg.Error:
            return
        with conn:
            while not self._stop.is_set():
                for table in self.tables:
                    for kind, mode in (("read", "ACCESS SHARE"), ("write", "ROW EXCLUSIVE")):
                        self._attempt(conn, table, kind, mode)
                self._stop.wait(PAUSE_S)

    def _attempt(self, conn: psycopg.Connection, table: str, kind: str, mode: str) -> None:
        schema, _, name = table.rpartition(".")
        ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
        started = time.monotonic()
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{ATTEMPT_TIMEOUT_MS}ms'")
                conn.execute(sql.SQL("LOCK TABLE {} IN " + mode + " MODE").format(ident))
                raise _Rollback
        except _Rollback:
            pass
        except (errors.LockNotAvailable, errors.QueryCanceled):
            pass  # waited the whole timeout: blocked
        except (errors.UndefinedTable, errors.InvalidSchemaName):
            return  # not created yet (or dropped): nothing to wait for
        except psycopg.Error:
            return
        self.samples.append(Sample(started, table, kind, time.monotonic() - started))

    def blocked(self, start: float, end: float) -> list[Blocked]:
        """How long reads and writes waited between two monotonic times, per table."""
        result = []
        for table in self.tables:
            mine = [s for s in self.samples if s.table == table and start <= s.at < end]
            if not mine:
                continue
            waits = {
                kind: sum(s.waited_s for s in mine if s.kind == kind and s.waited_s > 0.005)
                for kind in ("read", "write")
            }
            result.append(Blocked(table, round(waits["read"] * 1000, 1), round(waits["write"] * 1000, 1), len(mine)))
        return result


class _Rollback(Exception):
    """Leave the transaction without committing anything."""
