"""The action's entrypoint run as the container runs it, against a local fake GitHub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE
from fake_github import fake_github
from preflight.action.settings import from_env
from preflight.errors import UsageError

REPO = "acme/shop"


def event(path: Path, labels: list[str], fork: bool = False) -> Path:
    path.write_text(
        json.dumps(
            {
                "action": "labeled" if labels else "synchronize",
                "number": 7,
                "pull_request": {
                    "number": 7,
                    "labels": [{"name": name} for name in labels],
                    "head": {"repo": {"full_name": "someone/shop" if fork else REPO, "fork": fork}},
                },
                "repository": {"full_name": REPO},
            }
        )
    )
    return path


def run_action(tmp: Path, base: str, labels: list[str], **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    outputs, summary = runner / "output", runner / "summary.md"
    outputs.write_text("")
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp / "workspace"),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": base,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "42",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event(runner / "event.json", labels)),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner),
        "INPUT_MODE": "gate",
        "INPUT_PROJECT": "shop",
        "INPUT_TARGET-DUMP": "prod.dump",
        "INPUT_GITHUB-TOKEN": "actions-token",
        "INPUT_APPROVE-LABEL": "migration-approved",
        "INPUT_POSTGRES": "local",
        "INPUT_ROUND-TRIP": "off",
        "INPUT_COMMENT": "on",
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "preflight.action"], env=env, capture_output=True, text=True, timeout=600
    )
    values, lines = {}, outputs.read_text().splitlines()
    while lines:
        key, _, delimiter = lines.pop(0).partition("<<")
        value = []
        while lines and (line := lines.pop(0)) != delimiter:
            value.append(line)
        values[key] = "\n".join(value)
    values["_summary"] = summary.read_text() if summary.exists() else ""
    return done, values


@pytest.fixture
def workspace(tmp_path: Path, demo_dump: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLE, root / "shop", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(demo_dump, root / "prod.dump")
    return root


def test_gate_blocks_then_passes_with_the_label_and_keeps_one_comment(workspace: Path, tmp_path: Path) -> None:
    with fake_github() as (base, state):
        state.events[(REPO, 7)] = [
            {"event": "labeled", "label": {"name": "migration-approved"}, "actor": {"login": "alice"}}
        ]
        first, outputs = run_action(tmp_path, base, labels=[])
        assert first.returncode == 1, first.stdout + first.stderr
        assert first.stdout.splitlines()[0] == "::add-mask::actions-token"
        assert (
            "::error file=shop/orders/migrations/0012_remove_order_notes.py,line=10,title=DS102 drop-column::"
            in first.stdout
        )
        assert outputs["blocked"] == "true" and outputs["pending-count"] == "12"
        assert outputs["comment-url"].startswith(f"https://github.com/{REPO}/pull/7#issuecomment-")
        assert "## ⛔ Preflight" in outputs["_summary"]
        assert Path(outputs["report-json-path"]).exists() and Path(outputs["report-sarif-path"]).exists()
        sarif = json.loads(Path(outputs["report-sarif-path"]).read_text())
        assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"DS102", "LK201", "BR301"}
        (comment,) = state.comments[(REPO, 7)]
        assert "⛔" in comment["body"]

        second, outputs = run_action(tmp_path, base, labels=["migration-approved"])
        assert second.returncode == 0, second.stdout + second.stderr
        assert (
            outputs["blocked"] == "false"
            and outputs["comment-url"] == f"https://github.com/{REPO}/pull/7#issuecomment-{comment['id']}"
        )
        (edited,) = state.comments[(REPO, 7)]
        assert edited["id"] == comment["id"] and "pull-request label migration-approved" in edited["body"]
        assert "label added by alice" in edited["body"]
        assert "this push fixed all of them" in edited["body"]
        # The token appears once: in the ::add-mask:: command that tells the runner to hide it.
        assert (second.stdout + second.stderr).count("actions-token") == 1 and "actions-token" not in edited["body"]


def test_a_fork_with_a_production_url_is_refused(workspace: Path, tmp_path: Path) -> None:
    runner = tmp_path / "runner"
    runner.mkdir()
    env = {
        "GITHUB_EVENT_PATH": str(event(runner / "e.json", [], fork=True)),
        "GITHUB_WORKSPACE": str(workspace),
        "INPUT_TARGET-DATABASE-URL": "postgresql://u:Sup3r-secret@db/prod",
        "INPUT_PYTHON": sys.executable,
        "INPUT_PROJECT": "shop",
    }
    done = subprocess.run(
        [sys.executable, "-m", "preflight.action"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "::add-mask::Sup3r-secret" in done.stdout
    assert "refusing to run a fork's pull-request code with target-database-url" in done.stdout
    assert done.stdout.count("Sup3r-secret") == 1  # only in the mask command itself


@pytest.mark.parametrize(
    "env, message",
    [
        ({"INPUT_MODE": "deploy"}, "input mode: 'deploy' is not one of preview, gate, squash-report"),
        ({"INPUT_FAIL-ON": "sometimes"}, "input fail-on: 'sometimes' is not one of"),
        ({"INPUT_COMMENT": "maybe"}, "input comment: 'maybe' is not on/off"),
        ({"INPUT_TARGET-DUMP": "a.dump", "INPUT_BASE-REF": "main"}, "inputs target-dump and base-ref are both set"),
        ({"INPUT_LOCK-TIMEOUT": "5s"}, "input lock-timeout: '5s' is not a number of milliseconds"),
    ],
)
def test_bad_inputs(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from_env(env)


def test_action_yml_inputs_are_all_read_and_outputs_all_written() -> None:
    import inspect

    import yaml

    from conftest import REPO as ROOT
    from preflight.action import main, settings

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    read = inspect.getsource(settings.from_env)
    assert [name for name in action["inputs"] if f'"{name}"' not in read] == []
    assert all(name == name.lower() and "_" not in name for name in action["inputs"])
    written = inspect.getsource(main.action)
    assert [name for name in action["outputs"] if f'"{name}"' not in written] == []
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_workflows_grant_nothing_by_default() -> None:
    import yaml

    from conftest import REPO as ROOT

    files = [*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "docs" / "workflows").glob("*.yml")]
    assert len(files) >= 5
    for path in files:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} must say what it needs"


def test_comment_command_posts_a_saved_report(tmp_path: Path) -> None:
    from conftest import run_cli
    from preflight.report.model import Report, Target
    from preflight.report.render import to_json

    report = tmp_path / "report.json"
    saved = Report("0.1.0", "2026-01-01T00:00:00+00:00", "shop", "shop.settings", "5.2", "3.11",
                   Target("empty", "empty database"), "local", "15.0", migrations=[], rollback=[])  # fmt: skip
    report.write_text(to_json(saved))
    with fake_github() as (base, state):
        env = {"GITHUB_TOKEN": "actions-token", "GITHUB_API_URL": base, "GITHUB_REPOSITORY": REPO}
        first = run_cli("comment", str(report), "--pr", "5", env=env)
        second = run_cli("comment", str(report), "--pr", "5", env=env)
        assert first.returncode == 0 and first.stdout == second.stdout
        assert len(state.comments[(REPO, 5)]) == 1
        assert "## ✅ Preflight: no pending migrations" in state.comments[(REPO, 5)][0]["body"]
        fork = run_cli("comment", str(report), "--pr", "5", env={**env, "GITHUB_TOKEN": "fork-token"})
        assert fork.returncode == 6 and "two-phase" in fork.stderr and "fork-token" not in fork.stderr
