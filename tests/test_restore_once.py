"""The target is restored once, straight into the copy the run migrates: no template clone.

What an operator sees is the databases on the throwaway server while the run goes on
(`psql -l`); here `--test-command` lists them from the migrated copy, and its output is
in the report. Nothing in a run needs a second copy: `--probe-concurrency` tries its
locks on the copy the migrations run on, and the round trip goes back and forth on it.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, copy_project
from preflight import janitor
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview
from preflight.progress import QuietProgress
from preflight.project import Project

LIST_DATABASES = """\
import os, sys, psycopg
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    print("current:", conn.execute("SELECT current_database()").fetchone()[0])
    for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1", (sys.argv[1],)):
        print("database:", name)
"""


@pytest.mark.parametrize("probe_concurrency", [False, True], ids=["plain", "probe-concurrency"])
def test_the_dump_is_restored_into_the_only_copy(
    pg: Server, demo_dump: Path, tmp_path: Path, probe_concurrency: bool
) -> None:
    shop = Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)
    script = tmp_path / "list_databases.py"
    script.write_text(LIST_DATABASES)
    mine = f"preflight\\_{janitor.me().host}\\_{janitor.me().pid}\\_%"  # this process's scratch databases
    # Other tests in this process leave theirs on the shared server: only the run's own count.
    earlier = _databases(pg, mine)
    report = preview(
        PreviewOptions(
            project=shop,
            target_dump=demo_dump,
            postgres=f"external:{pg.info.url('postgres')}",  # the operator's server: we can look at it
            probe_concurrency=probe_concurrency,
            test_command=f"{sys.executable} {script} '{mine}'",
        ),
        QuietProgress(),
    )
    assert report.tests is not None and report.tests.exit_code == 0, report.tests
    lines = report.tests.tail.splitlines()
    current = lines[0].removeprefix("current: ")
    assert "_copy_" in current
    # the copy the migrations ran on, and no template beside it
    assert [line for line in lines[1:] if line.removeprefix("database: ") not in earlier] == [f"database: {current}"]
    assert report.target.source == "dump" and report.target.dump_format == "custom"
    assert report.target.size_bytes and report.target.restore_seconds is not None
    assert "restore" in report.timings and "copy" not in report.timings
    assert report.round_trip is not None  # it went back and forth on that same copy
    assert report.probed_concurrency is probe_concurrency
    assert _databases(pg, mine) == earlier  # and nothing of the run is left on the server


def _databases(pg: Server, pattern: str) -> set[str]:
    with pg.connect() as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))}


def test_the_probe_follows_the_server_when_its_promised_port_was_taken(
    demo_dump: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe starts before the local server, with the URL it was promised; a port taken
    in between moves the server, and the run goes on with a probe on the right URL."""
    from preflight.postgres import local

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real = local.free_port
    monkeypatch.setattr(local, "free_port", lambda: next(ports, None) or real())
    shop = Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)
    with taken:
        report = preview(
            PreviewOptions(project=shop, target_dump=demo_dump, postgres="local", round_trip=False),
            QuietProgress(),
        )
    assert [m.label for m in report.migrations] and all(m.status == "applied" for m in report.migrations)
    assert report.timings["probe_start"] > 0
