"""The action's entrypoint: build the real clients, then `action(settings, github, progress)`.

Modelled on python-coverage-comment-action: main() reads the environment and makes the
GitHub client; action() does the work and returns the exit code.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import psycopg

from preflight import baseline, checks, disk, secrets
from preflight.action.install import install
from preflight.action.settings import Settings, from_env
from preflight.config import FILENAME, ApprovalRule, load
from preflight.environment import PassEnv, register_runner_secrets, shield_this_process
from preflight.errors import ExitCode, PreflightError, UsageError
from preflight.github import comment
from preflight.github.client import ForbiddenError, GitHub, GitHubError
from preflight.preview import PreviewOptions, preview
from preflight.progress import PlainProgress, Progress
from preflight.project import discover
from preflight.publish import workflow
from preflight.report import render
from preflight.report.sarif import to_sarif
from preflight.verdict import default_fail_on, verdict


def main() -> int:
    shield_this_process()
    register_runner_secrets()
    out = PlainProgress(sys.stdout)
    try:
        settings = from_env()
    except PreflightError as exc:
        print(workflow.message_line("error", exc.line()))
        return exc.exit_code
    _mask(settings)
    github = None
    if settings.github_token and settings.repository and settings.pull_number:
        github = GitHub(settings.api_url, settings.github_token)
    try:
        return action(settings, github, out)
    except PreflightError as exc:
        print(workflow.message_line("error", exc.line()))
        return exc.exit_code
    except KeyboardInterrupt:
        print("::error title=Preflight::interrupted; the throwaway server and temp files were removed")
        return ExitCode.INTERRUPTED
    except OSError as exc:
        if not disk.is_enospc(exc):
            raise
        error = disk.full_error("writing a file", Path(exc.filename).parent if exc.filename else disk.temp_dir())
        print(f"::error title=Preflight::{secrets.redact(error.line())}")
        return error.exit_code


def _mask(settings: Settings) -> None:
    """Register every secret with the runner before anything can print it."""
    workflow.add_mask(sys.stdout, settings.github_token)
    secrets.register(settings.github_token)
    if settings.target_database_url:
        try:
            password = psycopg.conninfo.conninfo_to_dict(settings.target_database_url).get("password")
        except psycopg.ProgrammingError:
            password = None
        workflow.add_mask(sys.stdout, str(password) if password else None)
        secrets.register_url(settings.target_database_url)
    sys.stdout.flush()


def label_approvals(github: GitHub, settings: Settings) -> list[ApprovalRule]:
    """Approvals from pull-request labels: LABEL approves everything, LABEL:CODE one rule."""
    assert settings.approve_label and settings.repository and settings.pull_number
    pull = settings.event.get("pull_request") or github.pull(settings.repository, settings.pull_number)
    names = [label["name"] for label in pull.get("labels") or []]
    mine = [n for n in names if n == settings.approve_label or n.startswith(settings.approve_label + ":")]
    if not mine:
        return []
    actors = {
        e["label"]["name"]: e["actor"]["login"] for e in github.label_events(settings.repository, settings.pull_number)
    }
    return [
        ApprovalRule("label", f"pull-request label {name}", code=name.partition(":")[2] or None, who=actors.get(name))
        for name in mine
    ]


def _check_paths(settings: Settings, root: Path) -> None:
    """Check the inputs that name files before installing anything (same checks as the CLI's)."""
    if not root.is_dir():
        raise UsageError(f"input project: {settings.project} is not a folder in the workspace", "check the path")
    if settings.target_dump:
        checks.dump_path("input target-dump:", settings.workspace / settings.target_dump)
    if settings.config:
        checks.input_file("input config:", settings.workspace / settings.config)
    if settings.python:
        checks.executable("input python:", settings.python)


def action(settings: Settings, github: GitHub | None, out: Progress) -> int:
    if settings.mode == "squash-report":
        raise UsageError("mode squash-report is not available in this version", "use mode: preview or gate")
    if settings.from_fork and settings.target_database_url:
        raise UsageError(
            "refusing to run a fork's pull-request code with target-database-url",
            "use the two-phase workflow (docs/workflows/fork-safe-*.yml): preview forks against a dump or a base ref",
        )
    root = (settings.workspace / settings.project).resolve()
    temp = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    _check_paths(settings, root)
    pass_env = PassEnv(settings.pass_env)
    pass_env.validate()
    python = settings.python or install(
        root, temp / "preflight-venv", settings.install_command, settings.python_version, pass_env, out
    )
    project = discover(root, settings.settings, python, pass_env)
    config = load(settings.workspace / settings.config if settings.config else root / FILENAME)
    checks.test_command("input test-command:", settings.test_command, project.python, project.root)
    if settings.base_ref:
        baseline.resolve(project.root, settings.base_ref)
    approvals = label_approvals(github, settings) if github and settings.approve_label else []
    gate = settings.mode == "gate"
    fail_on = settings.fail_on or default_fail_on(config, gate)
    report = preview(
        PreviewOptions(
            project=project,
            target_url=settings.target_database_url,
            target_dump=settings.workspace / settings.target_dump if settings.target_dump else None,
            base_ref=settings.base_ref,
            postgres=settings.postgres,
            config=config,
            approvals=approvals,
            fail_on=fail_on,
            lock_timeout=settings.lock_timeout,
            probe_concurrency=settings.probe_concurrency,
            round_trip=settings.round_trip,
            test_command=settings.test_command,
            refuse_empty_target=gate and not settings.allow_empty_target,
        ),
        out,
    )
    markdown = render.to_markdown(report)
    reports = temp / "preflight-report"
    reports.mkdir(parents=True, exist_ok=True)
    prefix = f"{root.relative_to(settings.workspace.resolve())}/" if root != settings.workspace.resolve() else ""
    (reports / "report.md").write_text(markdown)
    (reports / "report.json").write_text(render.to_json(report))
    (reports / "report.sarif").write_text(to_sarif(report.findings, prefix))
    workflow.write_summary(settings.summary_path, markdown)
    for line in workflow.annotation_lines(report.findings, prefix):
        print(line)
    ending = verdict(report)
    comment_url = ""
    if settings.comment and github and settings.repository and settings.pull_number:
        clean = ending is None  # nothing blocks, no migration failed, the tests passed
        try:
            comment_url = comment.publish(
                github, settings.repository, settings.pull_number, markdown, clean, settings.run_url
            )
        except ForbiddenError as exc:
            print(workflow.message_line("warning", f"could not comment: {exc.line()}"))
        except GitHubError as exc:
            print(workflow.message_line("warning", f"could not comment: {exc.line()}"))
    workflow.write_outputs(
        settings.output_path,
        {
            "pending-count": str(len(report.migrations)),
            "findings-count": str(len([f for f in report.findings if f.approval is None])),
            "blocked": "true" if ending is not None else "false",
            "report-path": str(reports / "report.md"),
            "report-json-path": str(reports / "report.json"),
            "report-sarif-path": str(reports / "report.sarif"),
            "comment-url": comment_url,
        },
    )
    if ending is not None:
        print(workflow.message_line("error", ending.line()))
        return ending.exit_code
    return ExitCode.OK
