"""--probe-concurrency end to end: edge cases of the plan, and waits measured under a held lock.

tests/projects/exclusive: ledger_entry with 20,000 rows; 0002_hold holds ACCESS EXCLUSIVE
on it for 1 s in one atomic migration, while the probe also tries 30 other tables (a round
then takes longer than a tenth of the hold). Recorded samples check the accounting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import pg_dump, run_cli, scenario
from preflight.evidence.blocking import BlockingProbe, Sample, waited_for
from preflight.evidence.measured import Blocked, Lock
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.report.feel import feel
from preflight.units import duration

ROWS = 20_000
HOLD_MS = 1000  # ledger/migrations/0002_hold.py
OTHER_TABLES = 30


def _dump(pg: Server, tmp: Path, to: str | None, others: int = 0) -> Path:
    project = scenario("exclusive", tmp)
    database = pg.create_database("ledger")
    assert runner.run(project, "apply", pg.info.url(database), to=[to] if to else None)["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(f"INSERT INTO ledger_entry (amount) SELECT g % 100 FROM generate_series(1, {ROWS}) g")
        for i in range(others):  # tables of another app, as in a real project: the probe tries them all
            conn.execute(f"CREATE TABLE other_{i} (id bigserial PRIMARY KEY, v int)")
            conn.execute(f"INSERT INTO other_{i} (v) SELECT g FROM generate_series(1, 2000) g")
        conn.execute("ANALYZE")
    dump = pg_dump(pg, database, tmp / "ledger.dump")
    pg.drop_database(database)
    return dump


@pytest.fixture(scope="module")
def ledger_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production migrated to 0001: 0002_hold is pending."""
    return _dump(pg, tmp_path_factory.mktemp("ledger-0001"), "ledger.0001_initial", OTHER_TABLES)


@pytest.fixture(scope="module")
def applied_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production with every migration applied: nothing is pending."""
    return _dump(pg, tmp_path_factory.mktemp("ledger-all"), None)


def _run(command: str, project: Path, dump: Path, tmp_path: Path, *extra: str) -> tuple[int, str, str, dict]:
    report_md, report_json = tmp_path / f"{command}.md", tmp_path / f"{command}.json"
    done = run_cli(
        command,
        "--project",
        str(project),
        "--target-dump",
        str(dump),
        "--postgres",
        "local",
        "--quiet",
        "--probe-concurrency",
        "--output",
        str(report_md),
        "--json",
        str(report_json),
        *extra,
    )
    data = json.loads(report_json.read_text()) if report_json.exists() else {}
    return done.returncode, done.stderr, report_md.read_text() if report_md.exists() else "", data


@pytest.mark.parametrize("command", ["gate", "preview"])
def test_nothing_pending_with_probe_concurrency_is_exit_0(command: str, tmp_path: Path, applied_dump: Path) -> None:
    project = scenario("exclusive", tmp_path)
    code, stderr, markdown, data = _run(command, project.root, applied_dump, tmp_path)
    assert code == 0, stderr
    assert "internal error" not in stderr
    assert "Preflight: no pending migrations" in markdown
    assert data["migrations"] == []


def test_a_held_access_exclusive_lock_makes_reads_and_writes_wait_about_as_long(
    tmp_path: Path, ledger_dump: Path
) -> None:
    project = scenario("exclusive", tmp_path)
    code, stderr, markdown, data = _run("preview", project.root, ledger_dump, tmp_path, "--no-round-trip")
    assert code == 0, stderr
    (hold,) = data["migrations"]
    assert hold["status"] == "applied"
    (entries,) = hold["blocked"]
    # One pending migration: its window runs from its start to the end of the apply.
    assert entries["table"] == "ledger_entry"
    # Main measured 52-61% for writes (one round's resolution, each kind alone); now 91-97%.
    assert entries["reads_ms"] >= 0.7 * HOLD_MS, entries
    assert entries["writes_ms"] >= 0.7 * HOLD_MS, entries
    assert entries["reads_ms"] <= 3 * HOLD_MS and entries["writes_ms"] <= 3 * HOLD_MS, entries
    largest = max(entries["reads_ms"], entries["writes_ms"])
    assert "Reads and writes on ledger_entry wait up to" in markdown
    assert f"(a second session waited {duration(largest)})" in markdown, markdown


def test_a_migration_that_fails_on_the_copy_with_probe_concurrency_is_reported(
    tmp_path: Path, ledger_dump: Path
) -> None:
    project = scenario("exclusive", tmp_path)
    hold = project.root / "ledger" / "migrations" / "0002_hold.py"
    hold.write_text(hold.read_text().replace('f"SELECT pg_sleep({HOLD_S})"', '"SELECT 1 / 0"'))
    code, stderr, markdown, data = _run("preview", project.root, ledger_dump, tmp_path, "--no-round-trip")
    assert code == 4, stderr
    assert "internal error" not in stderr
    (failed,) = data["migrations"]
    assert failed["status"] == "failed"
    assert "division by zero" in markdown


TABLE = "ledger_entry"


def _blocked(samples: list[Sample]) -> Blocked:
    """What the probe reports for `samples`, with unblocked attempts of 1 ms beforehand (a 50 ms floor)."""
    probe = BlockingProbe("", [TABLE])
    probe.baseline = [Sample(0.0, TABLE, kind, 0.001) for kind in ("read", "write", "share", "row") for _ in range(5)]
    probe.samples = samples
    (blocked,) = probe.blocked(0.0, 10.0, {TABLE})
    return blocked


def _access_exclusive_for_498_ms() -> list[Sample]:
    """One round per table and kind, as recorded under celery-results 0009 (ACCESS EXCLUSIVE for 498 ms)."""
    return [
        Sample(0.000, TABLE, "read", 0.100, timed_out=True),
        Sample(0.100, TABLE, "write", 0.100, timed_out=True),
        Sample(0.200, TABLE, "share", 0.100, timed_out=True),  # the row attempt's table lock
        # ... 58 ms of attempts on other tables ...
        Sample(0.358, TABLE, "read", 0.100, timed_out=True),
        Sample(0.458, TABLE, "write", 0.040),  # granted after 40 ms, below the floor: the lock went at 0.498
        Sample(0.498, TABLE, "share", 0.001),
        Sample(0.499, TABLE, "row", 0.001),
        Sample(0.800, TABLE, "read", 0.001),
        Sample(0.801, TABLE, "write", 0.001),
    ]


def test_reads_and_writes_under_one_access_exclusive_lock_each_wait_all_of_it() -> None:
    # Main measured reads 458 ms, writes 100 ms: each kind alone, its last wait cut short by a round.
    blocked = _blocked(_access_exclusive_for_498_ms())
    assert blocked.reads_ms == pytest.approx(498, abs=1)
    assert blocked.writes_ms == pytest.approx(498, abs=1)
    assert blocked.row_writes_ms == 0


def test_a_lock_shorter_than_two_attempts_is_still_a_wait_for_writes() -> None:
    # allauth 0007: ACCESS EXCLUSIVE for 117 ms; the read timed out, the write came next and
    # was granted after 17 ms. Main: reads 100 ms, writes 0 ms.
    samples = [Sample(0.000, TABLE, "read", 0.100, timed_out=True), Sample(0.100, TABLE, "write", 0.017)]
    blocked = _blocked(samples)
    assert (blocked.reads_ms, blocked.writes_ms) == (pytest.approx(117, abs=1), pytest.approx(117, abs=1))


def test_a_share_lock_makes_writes_wait_and_not_reads() -> None:
    # CREATE INDEX (SHARE): reads and the row attempt's ROW SHARE are granted, writes time out.
    samples = []
    for start in (0.0, 0.2, 0.4):
        samples += [
            Sample(start, TABLE, "read", 0.001),
            Sample(start + 0.001, TABLE, "write", 0.100, timed_out=True),
            Sample(start + 0.101, TABLE, "share", 0.001),
            Sample(start + 0.102, TABLE, "row", 0.001),
        ]
    samples.append(Sample(0.6, TABLE, "write", 0.001))
    blocked = _blocked(samples)
    assert blocked.reads_ms == 0 and blocked.row_writes_ms == 0
    assert blocked.writes_ms == pytest.approx(500, abs=1)  # 0.001 to 0.501: granted reads say nothing of writes


def test_a_grant_long_after_the_last_wait_does_not_stretch_it() -> None:
    samples = [Sample(0.0, TABLE, "read", 0.100, timed_out=True), Sample(0.5, TABLE, "write", 0.001)]
    assert waited_for(samples, 0.050, "read") == pytest.approx(0.100)
    assert waited_for(samples, 0.050, "write") == pytest.approx(0.100)


def test_the_headline_quotes_the_longest_wait_measured() -> None:
    lock = Lock("django_celery_results_taskresult", "AccessExclusiveLock", 498.0, 0)
    measured = Blocked("django_celery_results_taskresult", reads_ms=458.0, writes_ms=101.0, samples=40)
    sentence = feel("applied", True, [lock], [], [measured])
    assert sentence == (
        "Reads and writes on django_celery_results_taskresult wait up to 498 ms "
        "(a second session waited 458 ms) (times on the copy)."
    )
