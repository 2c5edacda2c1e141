"""The real `preflight` command: exit codes, one-line errors, secrets, interruption."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from conftest import EXAMPLE, PROJECTS, leftovers, run_cli
from preflight.postgres.base import Server

PASSWORD = "Cli-s3cret-pw"


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("preflight: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.mark.parametrize(
    "project, code, message",
    [
        ("not_django", 3, "is not a Django project: it has no manage.py. Pass --project"),
        ("broken_settings", 3, "No module named 'site_secrets' (proj/settings.py:7)"),
        ("conflict", 3, "Run `python manage.py makemigrations --merge`"),
        ("failing", 4, "inventory.0003_unique_sku failed on the copy at inventory/migrations/0003_unique_sku.py:7"),
        ("killed", 3, "the probe (apply) was killed by signal 9"),
        (
            "raising",
            4,
            "ledger.0002_check_balances failed on the copy at ledger/migrations/0002_check_balances.py:5: "
            "ValueError: ledger does not balance",
        ),
    ],
)
def test_project_problems(project: str, code: int, message: str, tmpdir_env: dict[str, str]) -> None:
    done = run_cli("preview", "--project", str(PROJECTS / project), "--postgres", "local", env=tmpdir_env)
    assert done.returncode == code, done.stderr
    assert message in _one_error_line(done.stderr)
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []


def test_failed_migration_still_writes_the_report(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    out, js = tmp_path / "r.md", tmp_path / "r.json"
    done = run_cli(
        "preview",
        "--project",
        str(PROJECTS / "failing"),
        "--postgres",
        "local",
        "--output",
        str(out),
        "--json",
        str(js),
        env=tmpdir_env,
    )
    assert done.returncode == 4
    assert "❌ `inventory.0003_unique_sku` failed on the copy" in out.read_text()
    assert json.loads(js.read_text())["failure"]["sqlstate"] == "23505"


def test_no_postgres_binaries(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    done = run_cli(
        "preview", "--project", str(EXAMPLE), "--postgres", "local", "--pg-bin", str(tmp_path), env=tmpdir_env
    )
    assert done.returncode == 6
    assert "no PostgreSQL programs (initdb, postgres) found" in _one_error_line(done.stderr)


def test_relative_python_and_project_venv(
    tmp_path: Path, tmpdir_env: dict[str, str], django_pythons: dict[str, str]
) -> None:
    project = tmp_path / "raising"
    shutil.copytree(PROJECTS / "raising", project)
    relative = os.path.relpath(django_pythons["4.2"], tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "preflight",
            "preview",
            "--project",
            "raising",
            "--python",
            relative,
            "--postgres",
            "local",
            "--format",
            "json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **tmpdir_env},
    )
    assert done.returncode == 4, done.stderr  # the scenario's RunPython raises: the probe ran
    assert json.loads(done.stdout)["django_version"].startswith("4.2")
    # With no --python, the project's own .venv is used.
    venv, real = project / ".venv", Path(django_pythons["4.2"]).parents[1]
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(real / "bin" / "python")
    (venv / "lib").symlink_to(real / "lib")
    shutil.copy(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    done = run_cli("preview", "--project", str(project), "--postgres", "local", "--format", "json", env=tmpdir_env)
    assert json.loads(done.stdout)["django_version"].startswith("4.2"), done.stderr


def test_usage_errors() -> None:
    assert run_cli("preview", "--target-url", "x", "--target-dump", "y").returncode == 2
    done = run_cli("preview", "--project", "/nonexistent/dir")
    assert done.returncode == 2 and "is not a directory" in done.stderr


def test_corrupt_dump(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    dump = tmp_path / "prod.dump"
    dump.write_bytes(b"PGDMP" + os.urandom(2000))
    done = run_cli(
        "preview", "--project", str(EXAMPLE), "--postgres", "local", "--target-dump", str(dump), env=tmpdir_env
    )
    assert done.returncode == 5
    assert "prod.dump is corrupt or truncated" in _one_error_line(done.stderr)
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []


@pytest.fixture
def target_url(pg: Server) -> Iterator[str]:
    name = pg.create_database("clitarget")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE cli_user LOGIN SUPERUSER PASSWORD {}").format(sql.Literal(PASSWORD)))
    yield f"postgresql://cli_user:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE cli_user")


def test_target_url_preview_never_shows_the_password(
    target_url: str, tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    js = tmp_path / "r.json"
    done = run_cli(
        "preview",
        "--project",
        str(PROJECTS / "raising"),
        "--postgres",
        "local",
        "--target-url",
        target_url,
        "--json",
        str(js),
        env=tmpdir_env,
    )
    assert done.returncode == 4  # the scenario's RunPython raises; the dump and restore worked
    everything = done.stdout + done.stderr + js.read_text()
    assert PASSWORD not in everything
    assert json.loads(js.read_text())["target"]["source"] == "url"
    assert "cli_user@" in json.loads(js.read_text())["target"]["description"]


def test_wrong_password_and_unreachable_target(target_url: str, tmpdir_env: dict[str, str]) -> None:
    wrong = target_url.replace(PASSWORD, "Wrong-pw-123")
    done = run_cli("preview", "--project", str(EXAMPLE), "--postgres", "local", "--target-url", wrong, env=tmpdir_env)
    assert done.returncode == 5
    assert "refused the password" in _one_error_line(done.stderr)
    assert "Wrong-pw-123" not in done.stderr + done.stdout
    done = run_cli(
        "preview", "--project", str(EXAMPLE), "--target-url", "postgresql://u:Pw-xyz-1@127.0.0.1:1/db", env=tmpdir_env
    )
    assert done.returncode == 5
    assert "cannot reach the target" in _one_error_line(done.stderr) and "Pw-xyz-1" not in done.stderr


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_during_restore_leaves_nothing(how: str, tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    # A plain-SQL dump that takes a minute to replay: the interrupt lands mid-restore.
    dump = tmp_path / "slow.sql"
    dump.write_text("CREATE TABLE t (n int);\nSELECT pg_sleep(60);\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "preflight",
            "preview",
            "--project",
            str(EXAMPLE),
            "--postgres",
            "local",
            "--target-dump",
            str(dump),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **tmpdir_env},
        start_new_session=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "restoring slow.sql" in line:
            break
    assert "restoring slow.sql (psql)" in seen[-1]  # a plain-SQL dump is replayed by psql, not pg_restore
    time.sleep(0.5)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # what a terminal sends: the whole process group
    else:
        process.send_signal(signal.SIGTERM)  # what CI runners send: the main process only
    rest = process.stderr.read()
    assert process.wait(30) == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []
    servers = subprocess.run(["pgrep", "-f", tmpdir_env["TMPDIR"]], capture_output=True, text=True)
    assert servers.stdout.strip() == ""


def test_demo_end_to_end(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "demo", "--lines", "20000", "--postgres", "local"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **tmpdir_env},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "## ⛔ Preflight: 12 pending migrations · all 12 applied on the copy" in done.stdout
    assert "· 1 blocking finding" in done.stdout and "Approved (inline)" in done.stdout
    report = json.loads((tmp_path / "preflight-demo" / "report.json").read_text())
    assert len(report["migrations"]) == 12 and report["target"]["dump_format"] == "custom"
    assert "JSON report: preflight-demo/report.json" in done.stderr
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []


def test_terminal_gets_rich_progress(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    import pty

    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "preflight",
            "preview",
            "--project",
            str(PROJECTS / "raising"),
            "--postgres",
            "local",
            "--output",
            str(tmp_path / "r.md"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env={**os.environ, **tmpdir_env, "COLUMNS": "120"},
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(60)
    screen = b"".join(chunks).decode(errors="replace")
    assert "applying to the copy" in screen
    assert "\x1b[" in screen  # rich drew on the terminal
    assert not re.search(r"^\d\d:\d\d:\d\d preflight:", screen, re.M)  # not the CI line format
