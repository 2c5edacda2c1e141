"""Row locks are locks: a data migration's UPDATE blocks the application's writes to those rows.

End to end on real PostgreSQL (tests/projects/rowlocks: 50,000 items updated by a
RunPython in one atomic migration), and the concurrency probe's noise floor on recorded
samples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import pg_dump, run_cli, scenario
from preflight.evidence.blocking import BlockingProbe, Sample, held_tables, noise_floor, waited_for
from preflight.evidence.facts import Facts
from preflight.evidence.measured import Executed, MigrationRun
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.probe.protocol import AppliedMigration, CapturedLock, ExecutedStatement, OperationRef
from preflight.rules import engine

ITEMS = 50_000
RUN_PYTHON_LINE = 13  # stock/migrations/0002_reserve.py: migrations.RunPython(reserve_everything, ...)


@pytest.fixture(scope="module")
def stock_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production: stock_item with 50,000 rows and stock_note with 2,000, migrated to 0001."""
    tmp = tmp_path_factory.mktemp("rowlocks")
    project = scenario("rowlocks", tmp)
    database = pg.create_database("stock")
    assert runner.run(project, "apply", pg.info.url(database), to=["stock.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(
            "INSERT INTO stock_item (sku, qty, reserved) SELECT 'sku-' || g, g % 100, 0 "
            f"FROM generate_series(1, {ITEMS}) g"
        )
        conn.execute("INSERT INTO stock_note (text) SELECT 'note ' || g FROM generate_series(1, 2000) g")
        conn.execute("ANALYZE")
    dump = pg_dump(pg, database, tmp / "stock.dump")
    pg.drop_database(database)
    return dump


def test_data_migration_row_locks_block_the_gate_with_a_measured_wait(tmp_path: Path, stock_dump: Path) -> None:
    project = scenario("rowlocks", tmp_path)
    report_md, report_json = tmp_path / "gate.md", tmp_path / "gate.json"
    done = run_cli(
        "gate",
        "--project",
        str(project.root),
        "--target-dump",
        str(stock_dump),
        "--postgres",
        "local",
        "--quiet",
        "--probe-concurrency",
        "--no-round-trip",
        "--output",
        str(report_md),
        "--json",
        str(report_json),
    )
    assert done.returncode == 1, done.stderr
    where = f"stock/migrations/0002_reserve.py:{RUN_PYTHON_LINE}"
    assert f"blocked by 1 finding (--fail-on dangerous): LK218 stock.0002_reserve at {where}" in done.stderr
    data = json.loads(report_json.read_text())
    (finding,) = [f for f in data["findings"] if f["code"] == "LK218"]
    assert finding["severity"] == "error" and finding["category"] == "locking"
    assert (finding["file"], finding["line"]) == ("stock/migrations/0002_reserve.py", RUN_PYTHON_LINE)
    assert finding["statement"].startswith('UPDATE "stock_item" SET "reserved" = "stock_item"."qty"')
    assert re.match(
        r"blocks updates and deletes of 50,000 rows of stock_item for \d+\.\d s: UPDATE keeps each row it touches "
        r"locked until the migration commits; a second session's row writes waited \d",
        finding["message"],
    ), finding["message"]
    assert finding["facts"]["held_ms"] >= 1500 and finding["facts"]["row_writes_blocked_ms"] > 0
    reserve, pinned = data["migrations"]
    # The probe tried both tables all along; each migration is only said to block what it locked.
    assert [b["table"] for b in reserve["blocked"]] == ["stock_item"]
    (items,) = reserve["blocked"]
    assert items["row_writes_ms"] > 0  # a sampled row's FOR NO KEY UPDATE waited on the migration's row lock
    assert items["writes_ms"] == 0 and items["reads_ms"] == 0  # ROW EXCLUSIVE blocks no table lock request
    # 0003 holds stock_note for a few ms (shorter than a sampling round): a wait may or may not
    # be caught, but never one on stock_item, which it does not touch.
    assert {b["table"] for b in pinned["blocked"]} <= {"stock_note"}
    markdown = report_md.read_text()
    assert "Updates and deletes of 50,000 rows of stock_item wait up to" in markdown
    assert re.search(r"`stock_item` writes waited 0 ms, reads 0 ms, row writes \d", markdown), markdown
    assert "Nothing blocks reads or writes" not in markdown.split("0002_reserve", 1)[1].split("0003_note_pinned")[0]


def test_held_tables_are_the_locked_and_the_named() -> None:
    migration = AppliedMigration(
        "stock",
        "0002_reserve",
        True,
        "applied",
        10.0,
        statements=(
            ExecutedStatement('SELECT "id" FROM "stock_note" WHERE "id" = %s', 1.0, 1),
            ExecutedStatement("not sql at all", 1.0, None),
        ),
        locks=(CapturedLock("stock_item", "RowExclusiveLock", 5.0, 0),),
    )
    assert held_tables(migration) == {"stock_item", "stock_note"}
    assert held_tables(AppliedMigration("stock", "0003_x", True, "applied", 1.0)) == set()


def _probe(baseline_ms: list[float], samples: list[Sample], tables: tuple[str, ...] = ("stock_item",)) -> BlockingProbe:
    probe = BlockingProbe("", list(tables))
    probe.baseline = [Sample(0.0, table, "write", ms / 1000) for table in tables for ms in baseline_ms]
    probe.samples = samples
    return probe


def test_noise_floor_is_three_times_the_p95_and_at_least_50_ms() -> None:
    assert noise_floor([]) == pytest.approx(0.050)
    assert noise_floor([0.001, 0.002, 0.001, 0.003, 0.002]) == pytest.approx(0.050)  # 3 x 3 ms < 50 ms
    latencies = [0.020] * 19 + [0.500]  # one hiccup in 20 does not set the floor
    assert noise_floor(latencies) == pytest.approx(0.060)
    assert noise_floor([0.020, 0.024, 0.022, 0.028, 0.026]) == pytest.approx(0.084)


def test_slow_attempts_below_the_floor_are_noise_not_waits() -> None:
    # What the probe saw during a migration that locked nothing on stock_note: 90 attempts
    # slowed to 7 ms by the migration's CPU use. Summed as waits they said "633 ms".
    noisy = [Sample(float(i), "stock_note", "write", 0.007) for i in range(90)]
    probe = _probe([1.0, 1.2, 0.9, 1.1, 1.0], noisy, ("stock_note",))
    (blocked,) = probe.blocked(0.0, 100.0, {"stock_note"})
    assert blocked.writes_ms == 0 and blocked.samples == 90


def test_a_wait_above_the_floor_or_a_lock_timeout_counts() -> None:
    samples = [
        Sample(1.0, "stock_item", "write", 0.080),  # above a floor of 3 x 24 ms = 72 ms
        Sample(2.0, "stock_item", "write", 0.060),  # below it: noise
        Sample(3.0, "stock_item", "row", 0.101, timed_out=True),  # lock_timeout fired: a wait, whatever the floor
    ]
    probe = _probe([20.0, 24.0, 22.0, 19.0, 24.0], samples)
    (blocked,) = probe.blocked(0.0, 10.0, {"stock_item"})
    assert (blocked.writes_ms, blocked.row_writes_ms) == (80.0, 101.0)


def test_attempts_that_waited_one_after_the_other_are_one_wait() -> None:
    # Blocked from 1.0 s to 1.45 s, with other tables' attempts in between; then free, then once more.
    samples = [
        Sample(1.00, "stock_item", "write", 0.101, timed_out=True),
        Sample(1.15, "stock_item", "write", 0.101, timed_out=True),
        Sample(1.35, "stock_item", "write", 0.100, timed_out=True),
        Sample(1.60, "stock_item", "write", 0.001),
        Sample(2.00, "stock_item", "write", 0.080),
    ]
    assert waited_for(samples, 0.050) == pytest.approx(0.45 + 0.08)
    assert waited_for(samples[3:4], 0.050) == 0


def test_no_wait_is_reported_on_a_table_the_migration_did_not_lock() -> None:
    samples = [Sample(1.0, "stock_note", "write", 0.633, timed_out=True), Sample(1.0, "stock_item", "read", 0.001)]
    probe = _probe([1.0] * 5, samples, ("stock_item", "stock_note"))
    assert [b.table for b in probe.blocked(0.0, 10.0, {"stock_item"})] == ["stock_item"]
    assert probe.blocked(0.0, 10.0, set()) == []


def test_a_slow_update_that_kept_its_rows_locked_is_two_findings() -> None:
    update = 'UPDATE "stock_item" SET "reserved" = "stock_item"."qty"'
    run = MigrationRun(
        app="stock",
        name="0002_reserve",
        file="stock/migrations/0002_reserve.py",
        atomic=True,
        status="applied",
        duration_ms=9000.0,
        operations=[OperationRef(0, "RunPython", "Raw Python operation", 13, 13, True)],
        executed=[Executed(update, 6000.0, ITEMS, started_ms=10.0, operation=0)],
    )
    found = engine.merge([], engine.run_measured([run], Facts()))
    # Both measured: neither folds into the other (each keeps its code, fix and approval).
    assert sorted((f.code, f.severity) for f in found) == [("LK215", "warning"), ("LK218", "error")]
    (rows,) = [f for f in found if f.code == "LK218"]
    assert rows.message.startswith("blocks updates and deletes of 50,000 rows of stock_item for 9.0 s")
    assert (rows.file, rows.line, rows.statement) == ("stock/migrations/0002_reserve.py", 13, update)
