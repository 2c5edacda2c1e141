"""The action's entrypoint run as the container runs it, against a local fake GitHub."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE
from fake_github import fake_github
from preflight.action.settings import ACTION_ONLY, CLI_ONLY, _argv, command_line, flag_inputs, from_env, pending
from preflight.errors import UsageError
from preflight.options import build_parser

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
    return run_container(env, outputs, summary)


def run_container(env: dict[str, str], outputs: Path, summary: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run the action's entrypoint as the container does; return it and its step outputs (and summary)."""
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
        ({"INPUT_MODE": "squash-report", "INPUT_VERIFY": "maybe"}, "input verify: 'maybe' is not on/off"),
        (
            {"INPUT_FAIL-ON": "sometimes"},
            "argument --fail-on: invalid choice: 'sometimes' (choose from 'destructive', 'dangerous', 'any', 'never')",
        ),
        ({"INPUT_COMMENT": "maybe"}, "input comment: 'maybe' is not on/off"),
        ({"INPUT_ROUND-TRIP": "maybe"}, "input round-trip: 'maybe' is not on/off"),
        ({"INPUT_TARGET-DUMP": "a.dump", "INPUT_BASE-REF": "main"}, "argument --base-ref: not allowed with argument"),
        ({"INPUT_LOCK-TIMEOUT": "5s"}, "argument --lock-timeout: invalid int value: '5s'"),
    ],
)
def test_bad_inputs(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        from_env(env)


def test_inputs_become_the_cli_flags() -> None:
    env = {
        "INPUT_MODE": "gate",
        "INPUT_TARGET-DATABASE-URL": "postgresql://u@db/prod",
        "INPUT_ROUND-TRIP": "off",
        "INPUT_PROBE-CONCURRENCY": "on",
        "INPUT_ALLOW-EMPTY-TARGET": "off",
        "INPUT_PASS-ENV": "SECRET_KEY, DJANGO_*\nSENTRY_DSN",
        "INPUT_TEST-COMMAND": "-x --fast",  # a value that looks like a flag stays a value
        "INPUT_DEBUG": "on",
        "INPUT_FORMAT": "json",  # a CLI-only flag: not an input, never read
    }
    assert command_line(env, "gate") == [
        "--debug", "gate", "--pass-env=SECRET_KEY", "--pass-env=DJANGO_*", "--pass-env=SENTRY_DSN",
        "--target-database-url=postgresql://u@db/prod", "--probe-concurrency", "--no-round-trip",
        "--test-command=-x --fast",
    ]  # fmt: skip
    args = from_env(env).args
    assert (args.command, args.target_url, args.round_trip, args.probe_concurrency, args.allow_empty_target) == (
        "gate", "postgresql://u@db/prod", False, True, False,
    )  # fmt: skip
    assert args.pass_env == ["SECRET_KEY", "DJANGO_*", "SENTRY_DSN"] and args.test_command == "-x --fast"
    assert args.debug is True and args.format == "markdown"
    defaults = from_env({}).args
    assert (defaults.command, defaults.round_trip, defaults.postgres, defaults.fail_on) == (
        "preview", True, "auto", None,
    )  # fmt: skip


def _action_yml() -> dict:
    import yaml

    from conftest import REPO as ROOT

    return yaml.safe_load((ROOT / "action.yml").read_text())


COMMANDS = ("gate", "squash-report", "apply")  # preview's flags are gate's (checked below)


def _flag_inputs() -> dict[str, tuple[str, argparse.Action]]:
    """Every input that is a CLI flag: (the first command that has it, its option)."""
    parser = build_parser()
    found = {name: ("gate", option) for name, option in flag_inputs(parser)}
    for command in reversed(COMMANDS):
        found.update({name: (command, option) for name, option in flag_inputs(parser.commands[command])})
    return found


def test_action_yml_inputs_are_the_cli_flags_one_to_one() -> None:
    action = _action_yml()
    flags = _flag_inputs()
    waiting = pending(build_parser())  # declared before their flag lands (settings.PENDING)
    assert sorted(set(action["inputs"]) - set(ACTION_ONLY) - set(waiting)) == sorted(flags)  # both ways
    assert not set(waiting) & set(flags)
    assert set(ACTION_ONLY) <= set(action["inputs"])
    assert set(build_parser().commands["preview"]._option_string_actions) == set(
        build_parser().commands["gate"]._option_string_actions
    )
    parser = build_parser()
    spellings = {s[2:] for p in (parser, *(parser.commands[c] for c in COMMANDS)) for s in p._option_string_actions}
    assert set(CLI_ONLY) <= spellings  # the exception list names real flags
    assert all(name == name.lower() and "_" not in name for name in action["inputs"])
    # A default in action.yml is the CLI's, but where the container differs (and says so).
    parser = build_parser()
    for name, (command, option) in flags.items():
        if "default" in action["inputs"][name] and name != "postgres":
            given = parser.parse_args([command, *_argv(name, option, str(action["inputs"][name]["default"]))])
            assert getattr(given, option.dest) == option.default, name
    assert "not the CLI's auto" in action["inputs"]["postgres"]["description"]
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_action_yml_outputs_are_the_ones_written() -> None:
    from preflight.action import deploy, squash
    from preflight.publish.workflow import outputs
    from preflight.report.model import Report, Target

    report = Report("0.1.0", "2026-01-01T00:00:00+00:00", "shop", "shop.settings", "5.2", "3.11",
                    Target("empty", "empty database"), "local", "15.0", migrations=[], rollback=[])  # fmt: skip
    preview = set(outputs(report, False, {}, ""))
    squashed = set(squash.outputs({"markdown": Path("s.md"), "json": Path("s.json")}, ""))
    applied = set(deploy.outputs("backup.dump"))
    assert sorted(preview | squashed | applied) == sorted(_action_yml()["outputs"])


def inputs_table() -> str:
    """The README's table of the Action's inputs, as action.yml and the CLI's parser make it."""
    flags = {name: option.option_strings for name, (_, option) in _flag_inputs().items()}
    flags.update({name: [flag] for name, (flag, _) in pending(build_parser()).items()})
    rows = ["| input | CLI flag | default | what it does |", "| --- | --- | --- | --- |"]
    for name, spec in _action_yml()["inputs"].items():
        flag = ", ".join(f"`{s}`" for s in flags[name]) if name in flags else "(Action only)"
        default = f"`{spec['default']}`" if "default" in spec else ""
        rows.append(f"| `{name}` | {flag} | {default} | {' '.join(spec['description'].split())} |")
    return "\n".join(rows) + "\n"


def test_readme_lists_every_input() -> None:
    from conftest import REPO as ROOT

    readme = (ROOT / "README.md").read_text()
    assert inputs_table() in readme, "README's Action inputs table is out of date; replace it with:\n" + inputs_table()
    for name, why in ACTION_ONLY.items():
        assert f"`{name}`" in readme.split("### Action inputs")[1].split("\n## ")[0], (name, why)


def test_an_invalid_input_is_the_cli_error(workspace: Path, tmp_path: Path) -> None:
    from conftest import run_cli

    with fake_github() as (base, state):
        done, outputs = run_action(tmp_path, base, labels=[], **{"lock-timeout": "soon", "python": sys.executable})
        assert state.requests == []
    cli = run_cli("gate", "--lock-timeout", "soon")
    assert done.returncode == 2 == cli.returncode
    (error,) = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    (expected,) = cli.stderr.splitlines()
    assert error == "::error title=Preflight::" + expected.removeprefix("preflight: error: ")
    assert expected == (
        "preflight: error: argument --lock-timeout: invalid int value: 'soon'. "
        "Run `preflight gate --help` for the options"
    )
    assert "Traceback" not in done.stderr and outputs["_summary"] == ""


BROKEN = """
import sys
import preflight.project

def discover(*args, **kwargs):
    raise KeyError("a bug in Preflight")

preflight.project.discover = discover  # stands in for an unknown bug in Preflight's own code
from preflight.action.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("debug", ["off", "on"])
def test_an_internal_error_exits_70_not_1(debug: str, tmp_path: Path) -> None:
    (tmp_path / "workspace" / "proj").mkdir(parents=True)
    env = {
        **os.environ,
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_PROJECT": "proj",
        "INPUT_PYTHON": sys.executable,
        "INPUT_GITHUB-TOKEN": "actions-token",
        "INPUT_DEBUG": debug,
    }
    env.pop("RUNNER_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", BROKEN], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 70, done.stdout + done.stderr
    (error,) = [line for line in done.stdout.splitlines() if line.startswith("::error")]
    if debug == "off":
        assert error == (
            "::error title=Preflight::internal error: KeyError: 'a bug in Preflight' "
            "(rerun with debug: on and report it)"
        )
        assert "Traceback" not in done.stdout + done.stderr
    else:
        assert error.endswith("KeyError: 'a bug in Preflight' (the traceback is above; please report it)")
        assert "Traceback (most recent call last)" in done.stderr and ", in discover\nKeyError: " in done.stderr
    # A broken event file from the runner is no user's mistake either: 70, one line.
    (tmp_path / "event.json").write_text("{not json")
    env = {**env, "INPUT_DEBUG": "off", "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    done = subprocess.run(
        [sys.executable, "-m", "preflight.action"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 70 and "Traceback" not in done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("::error")] == [
        "::error title=Preflight::internal error: JSONDecodeError: Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1) (rerun with debug: on and report it)"
    ]


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
