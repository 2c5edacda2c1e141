"""Deploy the pending migrations to the real target, safely; verify what is left afterwards.

`deploy` walks the plan as `apply` does (one project state carried on, pre_migrate and
post_migrate sent once, check_replacements once), every statement recorded, but for
production: no reading of the locks held after each statement; the session's
lock_timeout and statement_timeout set before each attempt (RunSQL, RunPython and
non-atomic migrations inherit them); a lock timeout retried with exponential backoff
where that is safe; the INVALID index an interrupted CREATE INDEX CONCURRENTLY leaves
dropped; and the locks each migration waited for sampled from a second connection.
`verify` says what is still pending and what Django's system checks report.

Progress events of a deploy: "deploy" {k, n, migration, attempt, attempts} before each
attempt; "retry" {migration, attempt, attempts, backoff_ms} before a backoff; and
"drop_invalid_index" {index, retrying} before an INVALID index is dropped (retrying: before
the next attempt; false: the cleanup after the last one).

A lock timeout is retried only where running the migration again is safe: an atomic
migration (rolled back whole), or a non-atomic one of which no statement had succeeded
(counting any statement but Django's own bookkeeping and catalog reads, a SELECT of a
RunPython included: the check errs on the side of not retrying).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any, Callable

from _preflight_probe.apply import _emit_post_migrate, _failure, not_run
from _preflight_probe.capture import StatementRecorder
from _preflight_probe.errors import Detail, ProbeError, describe_exception, redact_rows, sqlstate
from _preflight_probe.graph import check_graph, load, parse_targets, pending_plan
from _preflight_probe.tracking import tracking_operations

Progress = Callable[..., None]
SETTINGS = ("lock_timeout_ms", "statement_timeout_ms", "retries", "backoff_ms", "backoff_max_ms")
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout; 57014 (query_canceled) is statement_timeout or a cancel
DUPLICATE_TABLE = "42P07"  # the index name was taken before: that index is not ours to drop
SAMPLE_SECONDS = 0.05

# pg_stat_activity first: reading pg_locks (and pg_blocking_pids) takes the lock manager's
# partition locks on production, so only while the migrating connection waits for a lock.
WAITS_FOR_LOCK = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s"
WAITING = """
    SELECT l.locktype, l.mode, n.nspname, c.relname,
           ARRAY(SELECT 'pid ' || a.pid || COALESCE(' (' || NULLIF(a.application_name, '') || ')', '')
                 FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(l.pid)) ORDER BY a.pid)
    FROM pg_locks l
    LEFT JOIN pg_class c ON c.oid = l.relation
    LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = %s AND NOT l.granted
"""
INVALID_INDEX = """
    SELECT n.nspname, c.relname FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = %s::text AND NOT i.indisvalid
      AND (n.nspname = %s::text OR (%s::text IS NULL AND pg_table_is_visible(c.oid)))
"""
_IDENTIFIER = r'"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*'
_CONCURRENT_INDEX = re.compile(
    rf"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    # No name (CREATE INDEX CONCURRENTLY ON t): the server names it; ON is not a name.
    rf"(?!ON\s)(?:(?P<schema>{_IDENTIFIER})\s*\.\s*)?(?P<name>{_IDENTIFIER})",
    re.I,
)


def read_settings(request: Detail) -> Detail:
    """Return the five numbers of a deploy request; each a whole number >= 0 (0: timeout off, no retry)."""
    settings: Detail = {}
    for key in SETTINGS:
        value = request.get(key)
        if type(value) is not int or value < 0:
            raise ProbeError("usage", f"deploy needs {key} as a whole number >= 0, not {value!r}")
        settings[key] = value
    return settings


def _rows(connection: Any, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run `query` on the raw DB-API connection: Django's execute wrappers do not record it."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(query, params)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def set_timeouts(connection: Any, lock_timeout: str, statement_timeout: str) -> None:
    """Set both at session level (not SET LOCAL): non-atomic migrations run outside any transaction."""
    _rows(
        connection,
        "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
        [lock_timeout, statement_timeout],
    )


def _unquote(identifier: str | None) -> str | None:
    if identifier is None:
        return None
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def concurrent_index(sql: str | None) -> tuple[str | None, str] | None:
    """Return (schema or None, name) of the index a CREATE [UNIQUE] INDEX CONCURRENTLY builds."""
    match = _CONCURRENT_INDEX.match(sql or "")
    if match is None:
        return None
    name = _unquote(match.group("name"))
    assert name is not None
    return _unquote(match.group("schema")), name


def find_invalid_index(connection: Any, index: tuple[str | None, str]) -> tuple[str, str] | None:
    """Return (schema, name) of the INVALID index of that name, if there is one."""
    schema, name = index
    found = _rows(connection, INVALID_INDEX, [name, schema, schema])
    return (found[0][0], found[0][1]) if found else None


class InvalidIndexError(Exception):
    """The INVALID index an interrupted CREATE INDEX CONCURRENTLY left could not be dropped."""

    def __init__(self, name: str, sql: str, cause: BaseException) -> None:
        super().__init__(f"dropping the invalid index {name} failed: {describe_exception(cause)['error']}")
        self.name, self.sql = name, sql


class WaitSampler:
    """Which locks the migrating connection waits for, sampled from a connection of its own.

    One thread for the whole deploy; it looks every SAMPLE_SECONDS, only while a migration
    runs (between `resume` and `pause`), whether the connection waits for a lock, and if
    so reads pg_locks: the time between two looks is added to each (relation, mode) it
    found ungranted, with the sessions blocking it. A failure
    here (no connection slot left) never fails the deploy: it is reported as `error`.
    """

    def __init__(self, alias: str, pid: int) -> None:
        self.alias, self.pid = alias, pid
        self.error: str | None = None
        self.waits: dict[tuple[Any, ...], Detail] = {}
        self._active = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._last = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="preflight-wait-sampler", daemon=True)
        self._thread.start()

    def resume(self) -> None:
        with self._lock:
            self._last = time.perf_counter()
            self._active.set()

    def pause(self) -> None:
        with self._lock:  # no sample is half-way through when this returns
            self._active.clear()

    def take(self) -> list[Detail]:
        """Return the waits seen since the last take, longest first, and forget them."""
        with self._lock:
            waits, self.waits = self.waits, {}
        return sorted(waits.values(), key=lambda wait: -wait["waited_ms"])

    def close(self) -> None:
        self._stopped.set()
        self._active.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        from django.db import connections

        connection = None
        try:
            connection = connections.create_connection(self.alias)
            connection.ensure_connection()
            while not self._stopped.is_set():
                if not self._active.wait(0.5):
                    continue
                with self._lock:
                    if self._active.is_set() and not self._stopped.is_set():
                        self._sample(connection)
                self._stopped.wait(SAMPLE_SECONDS)
        except Exception as exc:  # seeing the waits is worth less than the deploy
            self.error = describe_exception(exc)["error"]
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()

    def _sample(self, connection: Any) -> None:
        waiting = _rows(connection, WAITS_FOR_LOCK, [self.pid])
        rows = _rows(connection, WAITING, [self.pid]) if waiting and waiting[0][0] else []
        now = time.perf_counter()
        elapsed, self._last = (now - self._last) * 1000.0, now
        for locktype, mode, schema, relation, blockers in rows:
            name = f"{schema}.{relation}" if relation else None
            wait = self.waits.setdefault(
                (locktype, name, mode),
                {"relation": name, "locktype": locktype, "mode": mode, "waited_ms": 0.0, "blockers": []},
            )
            wait["waited_ms"] += elapsed
            for blocker in blockers or ():
                if blocker not in wait["blockers"]:
                    wait["blockers"].append(blocker)


class Deployment:
    """One deploy request: the plan, the settings, and what each migration did."""

    def __init__(self, connection: Any, settings: Detail, progress: Progress) -> None:
        self.connection, self.settings, self.progress = connection, settings, progress
        self.executor = load(connection)
        self.recorder = StatementRecorder(None)  # production: never read the locks it holds
        self.lock_timeout = f"{settings['lock_timeout_ms']}ms"
        self.statement_timeout = f"{settings['statement_timeout_ms']}ms"

    def migrate(self, migration: Any, state: Any, k: int, n: int) -> tuple[Detail, Any, Detail | None]:
        """Apply one migration, retrying a lock timeout where safe; return (entry, state, failure)."""
        label = f"{migration.app_label}.{migration.name}"
        tries = self.settings["retries"] + 1
        attempts: list[Detail] = []
        dropped: list[str] = []
        leftover: tuple[str | None, str] | None = None  # an INVALID index to drop before the next attempt
        started = time.perf_counter()
        for number in range(1, tries + 1):
            self.progress("deploy", k=k, n=n, migration=label, attempt=number, attempts=tries)
            set_timeouts(self.connection, self.lock_timeout, self.statement_timeout)
            self.recorder.reset()
            attempt_started = time.perf_counter()
            attempt: Detail = {"number": number, "outcome": "applied", "error": None, "sqlstate": None}
            attempt.update(dropped_invalid_index=None, backoff_ms=None)
            attempts.append(attempt)
            error: BaseException | None = None
            self.sampler.resume()
            try:
                if leftover is not None:  # left by the attempt before: noted there
                    self._drop(leftover, attempts[-2], dropped, retrying=True)
                    leftover = None
                self.executor.recorder.ensure_schema()
                if "apps" not in state.__dict__:
                    state.apps  # noqa: B018 - render once; each migration then reloads what it changes
                with tracking_operations(migration, self.recorder.at_operation):
                    state = self.executor.apply_migration(state, migration)
            except Exception as exc:
                error = exc
            finally:
                self.sampler.pause()
                attempt["duration_ms"] = (time.perf_counter() - attempt_started) * 1000.0
            entry = self._entry(migration, attempts, started)
            if error is None:
                return entry, state, None
            code = sqlstate(error)
            attempt.update(error=describe_exception(error)["error"], sqlstate=code)
            attempt["outcome"] = "lock_timeout" if code == LOCK_NOT_AVAILABLE else "failed"
            if leftover is None and code != DUPLICATE_TABLE:
                leftover = concurrent_index(self.recorder.failed["sql"] if self.recorder.failed else None)
            ran = self._ran(migration)
            if code != LOCK_NOT_AVAILABLE or ran or number == tries:
                entry["status"] = "failed"
                return entry, state, self._failed(error, migration, attempts, dropped, leftover, ran)
            # Safe to run again: an atomic migration rolled back whole, or nothing of this one ran.
            state = self._state_before()
            self._back_off(label, attempt, tries)
        raise AssertionError("unreachable: the last attempt returns")

    def _state_before(self) -> Any:
        """The project state with what is applied now: the failed attempt moved its own on part-way."""
        self.executor.loader.build_graph()
        return self.executor._create_project_state(with_applied_migrations=True)

    def _back_off(self, label: str, attempt: Detail, tries: int) -> None:
        """Wait backoff_ms * 2**n (at most backoff_max_ms) before retry n, counted from 0."""
        number = attempt["number"]
        backoff = min(self.settings["backoff_ms"] * 2 ** (number - 1), self.settings["backoff_max_ms"])
        attempt["backoff_ms"] = float(backoff)
        self.progress("retry", migration=label, attempt=number, attempts=tries, backoff_ms=backoff)
        time.sleep(backoff / 1000.0)

    def _drop(self, index: tuple[str | None, str], attempt: Detail, dropped: list[str], retrying: bool) -> None:
        """Drop the INVALID index `index` if it is there; note it on `attempt` (the one that left it)."""
        found = find_invalid_index(self.connection, index)
        if found is None:
            return
        name = f"{found[0]}.{found[1]}"
        self.progress("drop_invalid_index", index=name, retrying=retrying)
        # CONCURRENTLY: a plain DROP INDEX would take an ACCESS EXCLUSIVE lock on the table.
        sql = f"DROP INDEX CONCURRENTLY IF EXISTS {_quote(found[0])}.{_quote(found[1])}"
        try:
            _rows(self.connection, sql)
        except Exception as exc:
            raise InvalidIndexError(name, sql, exc) from exc
        dropped.append(name)
        attempt["dropped_invalid_index"] = name

    def _ran(self, migration: Any) -> list[str]:
        """The statements of this attempt that succeeded and stay (none for an atomic migration)."""
        if migration.atomic:
            return []
        return [s["sql"] for s in self.recorder.statements if s["error"] is None and not s["internal"]]

    def _entry(self, migration: Any, attempts: list[Detail], started: float) -> Detail:
        entry: Detail = {
            "app": migration.app_label,
            "name": migration.name,
            "atomic": bool(migration.atomic),
            "status": "applied",
            "duration_ms": (time.perf_counter() - started) * 1000.0,
            "statements": self.recorder.statements,
            "locks": [],  # what a migration holds is not captured on the target: only what it waits for
            "rewrites": [],
            "attempts": attempts,
        }
        entry.update(self.recorder.omitted_summary())
        return entry

    def _failed(
        self,
        error: BaseException,
        migration: Any,
        attempts: list[Detail],
        dropped: list[str],
        leftover: tuple[str | None, str] | None,
        ran: list[str],
    ) -> Detail:
        """The failure, with the state the database is left in and what was cleaned up."""
        failure = _failure(error, migration, self.recorder)
        if isinstance(error, InvalidIndexError):  # the retry's cleanup failed, not the migration
            failure["statement"] = error.sql
        left: list[str] = []
        if leftover is not None:
            # Never leave it: a later CREATE INDEX CONCURRENTLY IF NOT EXISTS would skip it.
            attempt = attempts[-1]
            try:
                set_timeouts(self.connection, self.lock_timeout, self.statement_timeout)
                self._drop(leftover, attempt, dropped, retrying=False)
            except Exception as exc:
                found = find_invalid_index(self.connection, leftover)
                left = [f"{found[0]}.{found[1]}"] if found else []
                failure["cleanup_error"] = describe_exception(exc.__cause__ or exc)["error"]
        failure.update(
            state="partial" if ran or left else "unchanged",
            ran=ran,
            invalid_indexes_dropped=dropped,
            invalid_indexes_left=left,
            attempts=len(attempts),
            # A lock timeout not retried because statements of the migration had already run.
            retry_unsafe=bool(ran) and sqlstate(error) == LOCK_NOT_AVAILABLE,
        )
        return failure

    def run(self, to: list[str] | None) -> Detail:
        from django.core.management.sql import emit_pre_migrate_signal

        executor, connection = self.executor, self.connection
        check_graph(executor, connection)
        plan = pending_plan(executor, parse_targets(executor, to))
        if any(backwards for _, backwards in plan):
            raise ProbeError("usage", "deploy only migrates forwards; a --to target lies behind the database's state")
        state = executor._create_project_state(with_applied_migrations=True)
        emit_pre_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
        results: list[Detail] = []
        failure = None
        post = None
        after_error = None
        self.sampler = WaitSampler(connection.alias, _rows(connection, "SELECT pg_backend_pid()")[0][0])
        try:
            with connection.execute_wrapper(self.recorder):
                for index, (migration, _) in enumerate(plan):
                    entry, state, failure = self.migrate(migration, state, index + 1, len(plan))
                    entry["waits"] = self.sampler.take()
                    results.append(entry)
                    if failure:
                        break
                self.recorder.reset()
                # After the migrations: a failure here (post_migrate's content types and permissions
                # under the session's lock_timeout, say) must not lose what they did. Said apart.
                try:
                    if plan:
                        executor.check_replacements()  # a squash whose migrations all ran is recorded applied
                    if failure is None and plan:
                        self.recorder.reset()
                        started = time.perf_counter()
                        _emit_post_migrate(state, connection.alias, plan)
                        post = {
                            "duration_ms": (time.perf_counter() - started) * 1000.0,
                            "statements": len(self.recorder.statements),
                        }
                except Exception as exc:
                    after_error = redact_rows(f"{type(exc).__name__}: {str(exc).strip()}")
        finally:
            self.sampler.close()
        results += [dict(not_run(migration), attempts=[], waits=[]) for migration, _ in plan[len(results) :]]
        return {
            "migrations": results,
            "failure": failure,
            "post_migrate": post,
            "settings": self.settings,
            "waits_error": self.sampler.error,
            "after_error": after_error,  # check_replacements or post_migrate raised, after the migrations
        }


def verb_deploy(request: Detail, connection: Any, progress: Progress) -> Detail:
    """Apply the plan (or up to `to`) to the target one migration at a time; stop at the first failure."""
    settings = read_settings(request)
    before = _rows(connection, "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")[0]
    try:
        return Deployment(connection, settings, progress).run(request.get("to"))
    finally:
        # Django's own connection in the route lives on: leave it as it was.
        if connection.connection is not None and not connection.in_atomic_block:
            with contextlib.suppress(Exception):
                set_timeouts(connection, before[0], before[1])


def _check_line(message: Any) -> str:
    """'<id>: <object>: <message>' (and its hint), as `manage.py check` words it."""
    obj = getattr(message, "obj", None)
    meta = getattr(obj, "_meta", None)
    where = getattr(meta, "label", None) if isinstance(obj, type) and meta is not None else obj
    text = f"{message.id or '?'}: " + (f"{where}: " if where is not None else "") + str(message.msg)
    return text + (f" (hint: {message.hint})" if message.hint else "")


def system_checks(alias: str) -> Detail:
    """Django's system checks as `manage.py migrate` runs them; errors are level >= ERROR."""
    from django.core import checks

    try:
        messages = checks.run_checks(include_deployment_checks=False, databases=[alias])
    except Exception as exc:  # a check of the project's that raises is an error of its own
        return {"errors": [f"checks: a system check raised {describe_exception(exc)['error']}"], "warnings": []}
    shown = [message for message in messages if not message.is_silenced()]
    return {
        "errors": [_check_line(m) for m in shown if m.level >= checks.ERROR],
        "warnings": [_check_line(m) for m in shown if checks.WARNING <= m.level < checks.ERROR],
    }


def verb_verify(request: Detail, connection: Any, progress: Progress) -> Detail:
    """What `showmigrations` still lists as unapplied, and Django's system checks (never raising for them)."""
    executor = load(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    check = system_checks(connection.alias)
    # An INVALID index (an interrupted CREATE INDEX CONCURRENTLY, this run's or an earlier one's):
    # a later IF NOT EXISTS skips it, and the table goes without the index it was promised.
    with connection.cursor() as cursor:
        cursor.execute(_ALL_INVALID)
        invalid = [
            f"INVALID index {schema}.{name} on {table}: drop it and build it again" for schema, name, table in cursor
        ]
    check["warnings"] = [*check["warnings"], *invalid]
    return {
        "pending": [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards],
        "check": check,
    }


_ALL_INVALID = """
    SELECT n.nspname, c.relname, t.relname FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT i.indisvalid AND t.relkind <> 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1, 2
"""
