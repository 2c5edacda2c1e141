"""The deploy engine on the real target: timeouts, retries, interrupted concurrent indexes, failures, verify.

Real PostgreSQL (the `pg` fixture) and real Django projects (tests/projects/deploy_*,
see their READMEs). A `Blocker` is another session holding a lock, as a long request or a
batch job would in production; it is released from the deploy's own progress events
(the retry, the drop of an invalid index), so the tests wait for no clock. The timeouts
and backoffs are small (200 ms, 100 ms): the file runs in seconds.

The in-process engine (the route's) runs in a child interpreter that sets Django up, as
a running site has; Django is never set up in the pytest process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import REPO, scenario
from preflight.postgres.base import Server
from preflight.probe.protocol import DeploySettings
from preflight.probe.session import SITE, ProbeSession
from preflight.project import Project

FAST = DeploySettings(lock_timeout_ms=200, statement_timeout_ms=0, retries=2, backoff_ms=100, backoff_max_ms=400)
# Where the blocker is released from a progress event: the attempt after it waits up to a
# second for this process to act on the event (a busy machine), not 200 ms.
PATIENT = dataclasses.replace(FAST, lock_timeout_ms=1000)
INDEX = "shop_order_placed_idx"
ALL = ["shop.0004_order_flagged"]


class Blocker:
    """Another session in an open transaction that ran `statement` (its locks held until release)."""

    def __init__(self, pg: Server, database: str, statement: str) -> None:
        self.conn = pg.connect(database)
        self.conn.execute("SET application_name = 'blocker'")
        self.pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        self.conn.execute("BEGIN")
        self.conn.execute(statement)
        self._released = threading.Lock()
        self.released = False

    @property
    def name(self) -> str:
        return f"pid {self.pid} (blocker)"

    def release(self) -> None:
        with self._released:
            if not self.released:
                self.released = True
                self.conn.execute("ROLLBACK")

    def on(self, event: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
        """A progress callback that releases the lock at the first `event` whose fields match."""

        def progress(item: dict[str, Any]) -> None:
            if item.get("event") == event and all(item.get(k) == v for k, v in fields.items()):
                self.release()

        return progress

    def close(self) -> None:
        self.release()
        self.conn.close()


@pytest.fixture
def blockers() -> Iterator[list[Blocker]]:
    made: list[Blocker] = []
    yield made
    for blocker in made:
        blocker.close()


def _block(pg: Server, database: str, statement: str, blockers: list[Blocker]) -> Blocker:
    blocker = Blocker(pg, database, statement)
    blockers.append(blocker)
    return blocker


def _columns(pg: Server, database: str, table: str) -> list[str]:
    with pg.connect(database) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        ).fetchall()
    return [row[0] for row in rows]


def _tables(pg: Server, database: str) -> list[str]:
    with pg.connect(database) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def _recorded(pg: Server, database: str) -> list[str]:
    with pg.connect(database) as conn:
        rows = conn.execute("SELECT app || '.' || name FROM django_migrations ORDER BY id").fetchall()
    return [row[0] for row in rows]


def _index_valid(pg: Server, database: str, name: str) -> bool | None:
    """True/False: the index exists and is (not) valid; None: there is no such index."""
    with pg.connect(database) as conn:
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [name],
        ).fetchone()
    return None if row is None else bool(row[0])


@pytest.fixture
def locks(pg: Server, tmp_path: Path) -> tuple[Project, str]:
    """deploy_locks on a fresh database with shop 0001 and 0002 applied (0003 and 0004 pending)."""
    project = scenario("deploy_locks", tmp_path)
    database = pg.create_database("deploy")
    with ProbeSession(project, pg.info.url(database)) as probe:
        assert probe.deploy(FAST, to=["shop.0002_order_status"]).failure is None
    return project, database


# -- a lock timeout, retried -------------------------------------------------------------


def test_a_lock_released_within_the_retry_window_is_waited_out(
    pg: Server, tmp_path: Path, blockers: list[Blocker]
) -> None:
    project = scenario("deploy_locks", tmp_path)
    database = pg.create_database("deploy")
    with ProbeSession(project, pg.info.url(database)) as probe:
        assert probe.deploy(FAST, to=["shop.0001_initial"]).applied == ("shop.0001_initial",)
        blocker = _block(pg, database, "LOCK TABLE shop_order IN ACCESS SHARE MODE", blockers)
        answer = probe.deploy(PATIENT, on_progress=blocker.on("retry"), to=["shop.0002_order_status"])
    assert answer.failure is None
    (migration,) = answer.migrations
    assert (migration.label, migration.status) == ("shop.0002_order_status", "applied")
    assert [a.outcome for a in migration.attempts] == ["lock_timeout", "applied"]
    first = migration.attempts[0]
    assert (first.sqlstate, first.backoff_ms) == ("55P03", 100.0)
    assert first.error == "OperationalError: canceling statement due to lock timeout"
    # The wait it sat in: which table, which lock, who held it.
    wait = migration.waits[0]
    assert (wait.relation, wait.mode, wait.blockers) == ("public.shop_order", "AccessExclusiveLock", (blocker.name,))
    assert wait.waited_ms > 0
    assert answer.settings == PATIENT
    assert _columns(pg, database, "shop_order") == ["id", "placed", "remark", "status"]
    assert _recorded(pg, database) == ["shop.0001_initial", "shop.0002_order_status"]


def test_a_lock_never_released_fails_clearly_and_changes_nothing(
    locks: tuple[Project, str], pg: Server, tmp_path: Path, blockers: list[Blocker]
) -> None:
    project = scenario("deploy_locks", tmp_path / "again")
    database = pg.create_database("deploy")
    with ProbeSession(project, pg.info.url(database)) as probe:
        probe.deploy(FAST, to=["shop.0001_initial"])
        before = _columns(pg, database, "shop_order")
        _block(pg, database, "LOCK TABLE shop_order IN ACCESS SHARE MODE", blockers)
        answer = probe.deploy(FAST, to=ALL)
    assert [(m.name, m.status) for m in answer.migrations] == [
        ("0002_order_status", "failed"),
        ("0003_order_placed_idx", "not_run"),
        ("0004_order_flagged", "not_run"),
    ]
    attempts = answer.migrations[0].attempts
    assert [(a.outcome, a.backoff_ms) for a in attempts] == [
        ("lock_timeout", 100.0),
        ("lock_timeout", 200.0),
        ("lock_timeout", None),
    ]
    failure = answer.failure
    assert failure is not None
    assert (failure.migration, failure.state, failure.ran, failure.attempts) == (
        "shop.0002_order_status",
        "unchanged",
        (),
        3,
    )
    assert (failure.error, failure.sqlstate) == ("OperationalError: canceling statement due to lock timeout", "55P03")
    assert failure.statement == 'ALTER TABLE "shop_order" RENAME COLUMN "note" TO "remark"'
    assert answer.post_migrate is None
    assert _columns(pg, database, "shop_order") == before
    assert _recorded(pg, database) == ["shop.0001_initial"]


def test_a_non_atomic_migration_is_not_retried_once_a_statement_of_it_ran(
    locks: tuple[Project, str], pg: Server, blockers: list[Blocker]
) -> None:
    project, database = locks
    with ProbeSession(project, pg.info.url(database)) as probe:
        assert probe.deploy(FAST, to=["shop.0003_order_placed_idx"]).failure is None
        _block(pg, database, "LOCK TABLE shop_order IN ACCESS SHARE MODE", blockers)
        answer = probe.deploy(FAST, to=ALL)
    failure = answer.failure
    assert failure is not None
    assert [a.outcome for a in answer.migrations[0].attempts] == ["lock_timeout"]  # 2 retries allowed, none safe
    assert (failure.state, failure.retry_unsafe, failure.sqlstate) == ("partial", True, "55P03")
    assert failure.ran == ("CREATE TABLE shop_audit (id integer PRIMARY KEY)",)
    assert "shop_audit" in _tables(pg, database)
    assert "flagged" not in _columns(pg, database, "shop_order")


# -- an interrupted CREATE INDEX CONCURRENTLY --------------------------------------------

WRITER = "INSERT INTO shop_order (placed, remark, status) VALUES (1, '', 'new')"


def test_an_interrupted_concurrent_index_is_dropped_before_the_retry(
    locks: tuple[Project, str], pg: Server, blockers: list[Blocker]
) -> None:
    project, database = locks
    blocker = _block(pg, database, WRITER, blockers)
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(PATIENT, on_progress=blocker.on("retry"), to=["shop.0003_order_placed_idx"])
    assert answer.failure is None
    (migration,) = answer.migrations
    assert [(a.outcome, a.dropped_invalid_index) for a in migration.attempts] == [
        ("lock_timeout", f"public.{INDEX}"),
        ("applied", None),
    ]
    # CREATE INDEX CONCURRENTLY waited for the writer's transaction, not for a table lock.
    assert [(w.locktype, w.relation, w.blockers) for w in migration.waits] == [("virtualxid", None, (blocker.name,))]
    assert _index_valid(pg, database, INDEX) is True
    assert _recorded(pg, database)[-1] == "shop.0003_order_placed_idx"


def test_an_interrupted_concurrent_index_is_dropped_when_the_retries_run_out(
    locks: tuple[Project, str], pg: Server, blockers: list[Blocker]
) -> None:
    project, database = locks
    blocker = _block(pg, database, WRITER, blockers)
    # The writer stays through every attempt and ends while the last invalid index is dropped.
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(PATIENT, on_progress=blocker.on("drop_invalid_index", retrying=False), to=ALL)
    failure = answer.failure
    assert failure is not None
    attempts = answer.migrations[0].attempts
    assert [(a.outcome, a.dropped_invalid_index) for a in attempts] == [
        ("lock_timeout", None),  # left an invalid index; the next attempt could not drop it (the writer)...
        ("lock_timeout", None),
        ("lock_timeout", f"public.{INDEX}"),  # ... the cleanup after the last one could
    ]
    assert attempts[0].error == "OperationalError: canceling statement due to lock timeout"
    assert attempts[1].error == (
        f"InvalidIndexError: dropping the invalid index public.{INDEX} failed: "
        "LockNotAvailable: canceling statement due to lock timeout"
    )
    assert (failure.migration, failure.state, failure.ran) == ("shop.0003_order_placed_idx", "unchanged", ())
    assert failure.invalid_indexes_dropped == (f"public.{INDEX}",)
    assert failure.invalid_indexes_left == ()
    assert failure.statement == f'DROP INDEX CONCURRENTLY IF EXISTS "public"."{INDEX}"'
    assert _index_valid(pg, database, INDEX) is None
    assert _recorded(pg, database)[-1] == "shop.0002_order_status"


def test_an_invalid_index_that_cannot_be_dropped_is_named(
    locks: tuple[Project, str], pg: Server, blockers: list[Blocker]
) -> None:
    project, database = locks
    _block(pg, database, WRITER, blockers)
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(dataclasses.replace(FAST, retries=0), to=ALL)
    failure = answer.failure
    assert failure is not None
    assert (failure.state, failure.invalid_indexes_dropped, failure.invalid_indexes_left) == (
        "partial",
        (),
        (f"public.{INDEX}",),
    )
    assert failure.cleanup_error == "LockNotAvailable: canceling statement due to lock timeout"
    assert _index_valid(pg, database, INDEX) is False


# -- migrations that fail part-way -------------------------------------------------------


@pytest.fixture
def failing(pg: Server, tmp_path: Path) -> tuple[Project, str]:
    return scenario("deploy_failing", tmp_path), pg.create_database("deploy")


def test_an_atomic_migration_failing_mid_way_leaves_the_target_unchanged(
    failing: tuple[Project, str], pg: Server
) -> None:
    project, database = failing
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(FAST, to=["ledger.0002_entry_memo"])
    assert [(m.label, m.status) for m in answer.migrations] == [
        ("ledger.0001_initial", "applied"),
        ("ledger.0002_entry_memo", "failed"),
    ]
    failure = answer.failure
    assert failure is not None
    assert (failure.migration, failure.state, failure.ran, failure.attempts) == (
        "ledger.0002_entry_memo",
        "unchanged",
        (),
        1,
    )
    assert failure.error == "DataError: division by zero"
    assert failure.operation is not None and failure.operation.index == 1
    # The column its first operation added went with the rollback.
    assert _columns(pg, database, "ledger_entry") == ["id", "amount"]
    assert _recorded(pg, database) == ["ledger.0001_initial"]


def test_a_non_atomic_migration_failing_mid_way_names_exactly_the_statements_that_ran(
    failing: tuple[Project, str], pg: Server
) -> None:
    project, database = failing
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(FAST, to=["archive.0002_box_weight"])
    failure = answer.failure
    assert failure is not None
    assert (failure.migration, failure.state, failure.statement) == (
        "archive.0002_box_weight",
        "partial",
        "SELECT 1 / 0",
    )
    assert failure.ran == (
        "CREATE TABLE archive_shelf (id integer PRIMARY KEY)",
        "ALTER TABLE archive_box ADD COLUMN weight integer",
    )
    assert failure.partially_applied
    assert "archive_shelf" in _tables(pg, database) and "archive_never" not in _tables(pg, database)
    assert _columns(pg, database, "archive_box") == ["id", "label", "weight"]
    assert _recorded(pg, database) == ["archive.0001_initial"]


def test_verify_lists_what_is_pending_and_the_system_check_errors(failing: tuple[Project, str], pg: Server) -> None:
    project, database = failing
    with psycopg.connect(pg.info.url(database), autocommit=True) as conn:  # an earlier run's interrupted build
        conn.execute("CREATE TABLE stock (sku integer)")
        conn.execute("INSERT INTO stock VALUES (1), (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY stock_sku_uniq ON stock (sku)")
    with ProbeSession(project, pg.info.url(database)) as probe:
        probe.deploy(FAST, to=["ledger.0001_initial"])
        verify = probe.verify()
    assert sorted(verify.pending) == ["archive.0001_initial", "archive.0002_box_weight", "ledger.0002_entry_memo"]
    assert verify.errors == ("ledger.E001: the ledger is not balanced (hint: post the missing entry)",)
    assert verify.warnings == (
        "ledger.W001: the ledger has no auditor",
        "INVALID index public.stock_sku_uniq on stock: drop it and build it again",
    )
    assert not verify.ok


def test_timeouts_are_set_for_the_migrations_session(locks: tuple[Project, str], pg: Server) -> None:
    """RunSQL runs with the deploy's statement_timeout: a slow statement is cancelled, not retried."""
    project, database = locks
    slow = project.root / "shop" / "migrations" / "0005_slow.py"
    slow.write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0004_order_flagged")]\n'
        '    operations = [migrations.RunSQL("SELECT pg_sleep(5)", migrations.RunSQL.noop)]\n'
    )
    with ProbeSession(project, pg.info.url(database)) as probe:
        answer = probe.deploy(dataclasses.replace(FAST, statement_timeout_ms=300))
    failure = answer.failure
    assert failure is not None
    assert (failure.migration, failure.sqlstate, failure.attempts) == ("shop.0005_slow", "57014", 1)
    assert failure.error == "OperationalError: canceling statement due to statement timeout"


# -- the in-process engine (the route's) -------------------------------------------------

INPROCESS = """
import dataclasses, json, sys
import django
django.setup()
from preflight.probe.inprocess import InProcessEngine
from preflight.probe.protocol import DeploySettings

spec = json.loads(sys.argv[1])

def progress(event):
    print("progress " + json.dumps(event), flush=True)
    sys.stdin.readline()  # the test answers once it acted on the event

if spec.get("atomic"):
    from django.db import transaction
    from preflight.errors import PreflightError
    with transaction.atomic(), InProcessEngine() as engine:
        try:
            engine.deploy(DeploySettings(**spec["settings"]), to=spec["to"])
        except PreflightError as exc:
            print("answer " + json.dumps({"error": exc.line(), "code": int(exc.exit_code)}), flush=True)
    sys.exit(0)
with InProcessEngine() as engine:
    plan, sql = engine.plan(), engine.sql()
    deploy = engine.deploy(DeploySettings(**spec["settings"]), on_progress=progress, to=spec["to"])
    verify = engine.verify()
from django.db import connection
with connection.cursor() as cursor:  # Django's own connection, as the deploy left it
    cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
    after = list(cursor.fetchone())
answer = {
    "plan": dataclasses.asdict(plan),
    "sql": dataclasses.asdict(sql),
    "deploy": dataclasses.asdict(deploy),
    "verify": dataclasses.asdict(verify),
    "timeouts_after": after,
}
print("answer " + json.dumps(answer), flush=True)
"""


def _in_process(
    project: Project,
    url: str,
    settings: DeploySettings,
    to: list[str],
    on_progress: Callable[[dict[str, Any]], None],
    atomic: bool = False,
) -> dict[str, Any]:
    """Deploy and verify with InProcessEngine in a child that set Django up (as a running site has)."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="_preflight_probe.settings",
        PREFLIGHT_USER_SETTINGS=project.settings,
        DATABASE_URL=url,
        PYTHONPATH=os.pathsep.join([str(project.root), str(REPO / "entrypoint"), str(SITE)]),
    )
    spec = json.dumps({"settings": settings.fields(), "to": to, "atomic": atomic})
    with subprocess.Popen(
        [sys.executable, "-c", INPROCESS, spec],
        cwd=project.root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        for line in child.stdout:
            if line.startswith("progress "):
                on_progress(json.loads(line[len("progress ") :]))
                child.stdin.write("\n")
                child.stdin.flush()
            elif line.startswith("answer "):
                child.stdin.close()
                return dict(json.loads(line[len("answer ") :]))
        raise AssertionError(f"the in-process engine gave no answer: {child.stderr.read() if child.stderr else ''}")


def _shape(value: Any) -> Any:
    """The answer without what differs from run to run: times, pids, tracebacks."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if not k.endswith("_ms") and k not in ("traceback", "blockers")}
    if isinstance(value, (list, tuple)):
        return [_shape(v) for v in value]
    return value


def _by_session(project: Project, url: str, settings: DeploySettings, to: list[str], on_progress: Any) -> Any:
    with ProbeSession(project, url) as probe:
        plan, sql = probe.plan(), probe.sql()
        deploy, verify = probe.deploy(settings, on_progress=on_progress, to=to), probe.verify()
    answers = {"plan": plan, "sql": sql, "deploy": deploy, "verify": verify}
    return json.loads(json.dumps({key: dataclasses.asdict(value) for key, value in answers.items()}))


@pytest.mark.parametrize(
    ("to", "state"), [(["ledger.0002_entry_memo"], "unchanged"), (["archive.0002_box_weight"], "partial")]
)
def test_the_in_process_engine_gives_the_same_answers(pg: Server, tmp_path: Path, to: list[str], state: str) -> None:
    project = scenario("deploy_failing", tmp_path)
    ours = pg.create_database("deploy")
    theirs = pg.create_database("deploy")
    in_process = _in_process(project, pg.info.url(ours), FAST, to, lambda event: None)
    by_session = _by_session(project, pg.info.url(theirs), FAST, to, None)
    assert _shape({k: v for k, v in in_process.items() if k != "timeouts_after"}) == _shape(by_session)
    assert in_process["timeouts_after"] == ["0", "0"]  # Django's connection lives on, as it was
    assert in_process["deploy"]["failure"]["state"] == state
    assert in_process["verify"]["errors"] == ["ledger.E001: the ledger is not balanced (hint: post the missing entry)"]
    assert _tables(pg, ours) == _tables(pg, theirs)


def test_the_in_process_engine_retries_a_lock_timeout(
    locks: tuple[Project, str], pg: Server, blockers: list[Blocker]
) -> None:
    project, database = locks
    blocker = _block(pg, database, WRITER, blockers)
    answer = _in_process(project, pg.info.url(database), FAST, ALL, blocker.on("retry"))
    deploy = answer["deploy"]
    assert deploy["failure"] is None
    assert [[a["outcome"] for a in m["attempts"]] for m in deploy["migrations"]] == [
        ["lock_timeout", "applied"],
        ["applied"],
    ]
    assert deploy["migrations"][0]["attempts"][0]["dropped_invalid_index"] == f"public.{INDEX}"
    assert answer["verify"]["pending"] == []
    assert _index_valid(pg, database, INDEX) is True


def test_the_in_process_engine_refuses_to_deploy_inside_a_transaction(failing: tuple[Project, str], pg: Server) -> None:
    project, database = failing
    answer = _in_process(project, pg.info.url(database), FAST, [], lambda event: None, atomic=True)
    assert answer == {
        "error": "the deploy runs inside a transaction (ATOMIC_REQUESTS or transaction.atomic). "
        "Run it outside atomic(): decorate the view with transaction.non_atomic_requests",
        "code": 2,
    }
    assert _tables(pg, database) == []


# -- each supported Django; the records ------------------------------------------------


@pytest.mark.parametrize("series", ["4.2", "5.2"])
def test_deploy_and_verify_on_each_supported_django(
    series: str, pg: Server, tmp_path: Path, blockers: list[Blocker], django_pythons: dict[str, str]
) -> None:
    project = scenario("deploy_locks", tmp_path, python=django_pythons[series])
    database = pg.create_database("deploy")
    with ProbeSession(project, pg.info.url(database)) as probe:
        probe.deploy(FAST, to=["shop.0002_order_status"])
        blocker = _block(pg, database, WRITER, blockers)
        answer = probe.deploy(PATIENT, on_progress=blocker.on("retry"))
        verify = probe.verify()
    assert answer.failure is None
    assert [[a.outcome for a in m.attempts] for m in answer.migrations] == [["lock_timeout", "applied"], ["applied"]]
    assert answer.post_migrate is not None
    assert (verify.pending, verify.errors, verify.ok) == ((), (), True)
    assert _index_valid(pg, database, INDEX) is True


def _deploy_answer(**changes: Any) -> dict[str, Any]:
    attempt = {"number": 1, "duration_ms": 1, "outcome": "applied", "error": None, "sqlstate": None}
    attempt.update(dropped_invalid_index=None, backoff_ms=None)
    migration = {"app": "shop", "name": "0002", "atomic": True, "status": "applied", "duration_ms": 1.5}
    migration.update(statements=[], locks=[], rewrites=[], attempts=[attempt], waits=[])  # as the child sends it
    answer = {"migrations": [migration], "failure": None, "post_migrate": None, "settings": FAST.fields()}
    return dict(answer, **changes)


def test_a_malformed_deploy_answer_is_one_clear_line() -> None:
    from preflight.errors import ProjectError, UsageError
    from preflight.probe.protocol import DeployAnswer

    assert DeployAnswer.parse(_deploy_answer()).applied == ("shop.0002",)
    broken = _deploy_answer()
    broken["migrations"][0]["attempts"][0]["outcome"] = "maybe"
    with pytest.raises(ProjectError) as caught:
        DeployAnswer.parse(broken)
    assert caught.value.line() == (
        "the probe's deploy answer is malformed: migrations[0].attempts[0].outcome is not applied, lock_timeout "
        "or failed. This looks like a bug in Preflight's probe: please report it"
    )
    with pytest.raises(UsageError) as refused:
        DeploySettings(retries=-1)
    assert refused.value.line() == "retries must be a whole number >= 0, not -1. Pass 0 or more"
