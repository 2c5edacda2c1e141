"""`mode: apply` of the Action, run as the container runs it: on push, never on a pull request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from conftest import EXAMPLE
from preflight.postgres.base import Server
from test_action import run_container

REPO = "acme/shop"


def run_apply(
    tmp: Path, event: dict, url: str, event_name: str | None = None, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    (runner / "event.json").write_text(json.dumps(event))
    outputs, summary = runner / "output", runner / "summary.md"
    outputs.write_text("")
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp / "workspace"),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "77",
        "GITHUB_ACTOR": "release-bot",
        "GITHUB_EVENT_NAME": event_name or ("push" if "pull_request" not in event else "pull_request"),
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner),
        "INPUT_MODE": "apply",
        "INPUT_PROJECT": "shop",
        "INPUT_PYTHON": sys.executable,  # the project is installed already: no virtualenv to build
        "INPUT_TARGET-DATABASE-URL": url,
        "INPUT_GITHUB-TOKEN": "actions-token",
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    return run_container(env, outputs, summary)


@pytest.fixture
def target(pg: Server, tmp_path: Path, demo_dump: Path) -> str:
    """The demo's production database restored into a database of its own, with a password in its URL."""
    shutil.copytree(EXAMPLE, tmp_path / "workspace" / "shop", ignore=shutil.ignore_patterns("__pycache__"))
    database = pg.create_database("actionapply")
    subprocess.run(
        ["pg_restore", "--no-owner", "-d", pg.info.url(database), str(demo_dump)], check=True, capture_output=True
    )
    yield pg.info.url(database)
    pg.drop_database(database)


def test_apply_never_runs_on_a_pull_request(target: str, tmp_path: Path) -> None:
    event = {"number": 7, "pull_request": {"number": 7, "head": {"repo": {"full_name": REPO, "fork": False}}}}
    done, _ = run_apply(tmp_path, event, target, **{"no-backup": "on"})
    assert done.returncode == 2
    assert (
        "::error title=Preflight::mode: apply migrates the target itself and runs only on push, workflow_dispatch, "
        "release, deployment, schedule, never on a pull request's code (this run: pull_request)"
    ) in done.stdout
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM django_migrations WHERE app = 'orders'").fetchone() == (8,)


def test_apply_never_runs_on_a_pull_requests_comment(target: str, tmp_path: Path) -> None:
    """ChatOps: an issue_comment on a pull request carries no pull_request key, and is refused all the same."""
    done, _ = run_apply(tmp_path, {"issue": {"number": 7}}, target, event_name="issue_comment", **{"no-backup": "on"})
    assert done.returncode == 2
    assert "(this run: issue_comment)" in done.stdout


def test_apply_on_push_backs_up_applies_and_audits_the_actor(target: str, tmp_path: Path) -> None:
    password = psycopg.conninfo.conninfo_to_dict(target)["password"]
    audit = tmp_path / "runner" / "audit.jsonl"
    done, outputs = run_apply(
        tmp_path,
        {"ref": "refs/heads/main"},
        target,
        **{
            "backup-dir": str(tmp_path / "backups"),
            "audit-log": str(audit),
            "approve": "DS102",
            "approve-reason": "notes moved to the CRM",
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["_summary"].startswith("<!-- preflight-apply -->\n## ✅ Preflight apply: 12 migrations applied")
    backup = Path(outputs["backup-path"])
    assert backup.parent == tmp_path / "backups" and backup.stat().st_size > 0
    assert Path(outputs["report-json-path"]).exists() and outputs["pending-count"] == "12"
    record = json.loads(audit.read_text())
    assert (record["who"], record["via"], record["result"]) == ("release-bot", "action", "applied")
    assert record["origin"] == f"https://github.com/{REPO}/actions/runs/77"
    assert f"::add-mask::{password}" in done.stdout
    assert (done.stdout + done.stderr + outputs["_summary"] + audit.read_text()).count(password) == 1
