"""--probe-concurrency end to end: edge cases of the plan, and waits measured under a held lock.

tests/projects/exclusive: ledger_entry with 20,000 rows; 0002_hold holds ACCESS EXCLUSIVE
on it for 1.5 s in one atomic migration. Recorded samples check the accounting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import pg_dump, run_cli, scenario
from preflight.evidence.blocking import BlockingProbe, Sample
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.report.feel import feel
from preflight.rules.measured import Blocked, Lock
from preflight.units import duration

ROWS = 20_000
HOLD_MS = 1500  # ledger/migrations/0002_hold.py


def _dump(pg: Server, tmp: Path, to: str | None) -> Path:
    project = scenario("exclusive", tmp)
    database = pg.create_database("ledger")
    assert runner.run(project, "apply", pg.info.url(database), to=[to] if to else None)["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(f"INSERT INTO ledger_entry (amount) SELECT g % 100 FROM generate_series(1, {ROWS}) g")
        conn.execute("ANALYZE")
    dump = pg_dump(pg, database, tmp / "ledger.dump")
    pg.drop_database(database)
    return dump


@pytest.fixture(scope="module")
def ledger_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production migrated to 0001: 0002_hold is pending."""
    return _dump(pg, tmp_path_factory.mktemp("ledger-0001"), "ledger.0001_initial")


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
    assert entries["reads_ms"] >= 0.6 * HOLD_MS, entries
    assert entries["writes_ms"] >= 0.6 * HOLD_MS, entries
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
