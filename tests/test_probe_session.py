"""One probe session per run: Django set up once, a private package name, a channel of its own.

Real Django, real PostgreSQL. The `shadowing` project has top-level modules named `probe`
and `runner` (its settings import them) and prints to stdout and stderr while its
settings and migrations import and run, some lines shaped like the probe's own answers.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import PROJECTS, leftovers, run_cli, scenario
from preflight.errors import ProjectError
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.probe.session import ProbeSession
from preflight.project import Project


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_one_session_serves_plan_sql_apply_and_round_trip(pg: Server, tmp_path: Path) -> None:
    project = scenario("shadowing", tmp_path)
    url = pg.info.url(pg.create_database("empty"))
    with ProbeSession(project, url) as probe:
        plan = probe.plan()
        sessions = [probe.last_session]
        sql = probe.sql()
        sessions.append(probe.last_session)
        applied = probe.apply()
        sessions.append(probe.last_session)
        trip = probe.roundtrip([f"{app}.{to}" for app, to in plan.rollback.items()])
        sessions.append(probe.last_session)
        pid = probe.pid
        output = list(probe.tail)
    assert pid is not None and _gone(pid)
    # One process, Django set up once in it, four requests served.
    assert sessions == [{"pid": pid, "setups": 1, "requests": n} for n in (1, 2, 3, 4)]
    assert [m.name for m in plan.pending] == ["0001_initial", "0002_entry_note"]
    assert 'ADD COLUMN "note" text DEFAULT' in (sql.migrations[1].forwards.text or "")
    assert applied.failure is None
    assert [m.status for m in applied.migrations] == ["applied", "applied"]
    assert (trip.backward.status, trip.forward.status if trip.forward else None) == ("ok", "ok")
    assert [(m.name, "DROP COLUMN" in (m.sql.text or "")) for m in trip.backwards_sql] == [
        ("0002_entry_note", True),
        ("0001_initial", False),
    ]
    # The project's modules were its own, and what it printed went to its output, not to us.
    assert "settings of the project's probe and the project's runner" in output
    assert "importing ledger.0002: stderr" in output


def test_a_project_module_named_probe_or_runner_is_its_own(pg: Server, tmp_path: Path) -> None:
    project = scenario("shadowing", tmp_path)
    database = pg.create_database("empty")
    result = runner.run(project, "apply", pg.info.url(database))
    assert result["failure"] is None
    with pg.connect(database) as conn:
        assert conn.execute("SELECT amount, note FROM ledger_entry").fetchall() == [(1, "")]


@pytest.mark.parametrize(
    ("ending", "message"),
    [
        ("os.kill(os.getpid(), signal.SIGKILL)", "the probe (apply) was killed by signal 9 after printing: "),
        ("os.kill(os.getpid(), signal.SIGSEGV)", "the probe (apply) was killed by signal 11 after printing: "),
        ("os._exit(3)", "the probe (apply) exited with 3 and wrote nothing: going away"),
        ("os.closerange(3, 1024); time.sleep(600)", "the probe (apply) closed its answers pipe without answering"),
    ],
)
def test_a_probe_that_dies_mid_request_is_one_clear_error(
    ending: str, message: str, pg: Server, tmp_path: Path
) -> None:
    root = tmp_path / "killed"
    shutil.copytree(PROJECTS / "killed", root)
    migration = root / "ledger" / "migrations" / "0002_check_balances.py"
    text = migration.read_text().replace(
        "    os.kill(os.getpid(), signal.SIGKILL)", f"    print('going away', flush=True)\n    {ending}"
    )
    migration.write_text("import time\n" + text)
    project = Project(root=root, settings="proj.settings", python=sys.executable)
    url = pg.info.url(pg.create_database("empty"))
    with ProbeSession(project, url) as probe:
        assert probe.plan().pending
        with pytest.raises(ProjectError) as caught:
            probe.apply()
        pid = probe.pid
    assert message in caught.value.line()
    assert "\n" not in caught.value.line()
    assert pid is not None and _gone(pid)


def test_preview_starts_django_once_and_says_so(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    report = tmp_path / "report.json"
    done = run_cli(
        "preview",
        "--project",
        str(PROJECTS / "shadowing"),
        "--postgres",
        "local",
        "--format",
        "json",
        "--output",
        str(report),
        env=tmpdir_env,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(report.read_text())
    assert document["timings"]["probe_start"] > 0
    assert [m["status"] for m in document["migrations"]] == ["applied", "applied"]
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []
