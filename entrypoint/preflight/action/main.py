"""The action's entrypoint: build the real clients, then `action(settings, github, progress)`.

Modelled on python-coverage-comment-action: main() reads the environment and makes the
GitHub client; action() does the work and returns the exit code.
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path

import psycopg

from preflight import disk, secrets
from preflight.action import deploy, squash
from preflight.action.install import install
from preflight.action.settings import ON, Settings, from_env
from preflight.config import ApprovalRule
from preflight.environment import PassEnv, register_runner_secrets, shield_this_process
from preflight.errors import ExitCode, PreflightError, UsageError, internal_error_line
from preflight.github.client import GitHub
from preflight.options import preview_options, validate
from preflight.preview import preview
from preflight.progress import PlainProgress, Progress
from preflight.publish import workflow
from preflight.publish.stage import Comment, Destinations, publish

# The events a deploy job runs on: reviewed code on the default branch, by hand, a release.
# Not pull_request(_target), issue_comment (ChatOps on a pull request) or workflow_run.
APPLY_EVENTS = ("push", "workflow_dispatch", "release", "deployment", "schedule")


def main() -> int:
    """Run the Action; every way out is one line and a documented exit code (70 for a bug)."""
    shield_this_process()
    register_runner_secrets()
    _mask(os.environ)
    debug = _debug(os.environ)
    try:
        settings = from_env()
        debug = settings.args.debug
        # GitHub starts a Docker action in the workspace; be sure, so relative inputs mean
        # what the same flags mean to the CLI.
        os.chdir(settings.workspace)
        github = None
        # A pull request's comment and labels, or the squash report's issue (a scheduled run has no pull request).
        if settings.github_token and settings.repository and (settings.pull_number or settings.mode == "squash-report"):
            github = GitHub(settings.api_url, settings.github_token)
        return action(settings, github, PlainProgress(sys.stdout))
    except PreflightError as exc:
        print(workflow.message_line("error", exc.line()))
        return exc.exit_code
    except KeyboardInterrupt:
        print("::error title=Preflight::interrupted; the throwaway server and temp files were removed")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        if isinstance(exc, OSError) and disk.is_enospc(exc):
            error = disk.full_error("writing a file", Path(exc.filename).parent if exc.filename else disk.temp_dir())
            print(workflow.message_line("error", error.line()))
            return error.exit_code
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print(workflow.message_line("error", internal_error_line(exc, debug, "debug: on")))
        return ExitCode.INTERNAL


def _debug(env: Mapping[str, str]) -> bool:
    """Whether tracebacks are wanted, read before the inputs are parsed (a bug may stop that)."""
    return env.get("INPUT_DEBUG", "").strip().lower() in ON or env.get("RUNNER_DEBUG") == "1"


def _mask(env: Mapping[str, str]) -> None:
    """Register every secret with the runner before anything can print it, parsing included."""
    token = env.get("INPUT_GITHUB-TOKEN", "").strip()
    workflow.add_mask(sys.stdout, token)
    secrets.register(token or None)
    url = env.get("INPUT_TARGET-DATABASE-URL", "").strip()
    if url:
        try:
            password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        except psycopg.ProgrammingError:
            password = None
        workflow.add_mask(sys.stdout, str(password) if password else None)
        secrets.register_url(url)
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


FILES = (("markdown", "md"), ("json", "json"), ("sarif", "sarif"))


def destinations(settings: Settings, root: Path, github: GitHub | None, temp: Path) -> Destinations:
    """Every report format under RUNNER_TEMP, the step summary, annotations, outputs, the comment."""
    reports = temp / "preflight-report"
    reports.mkdir(parents=True, exist_ok=True)
    workspace = settings.workspace.resolve()
    prefix = f"{root.relative_to(workspace)}/" if root != workspace and root.is_relative_to(workspace) else ""
    comment = None
    if settings.comment and github and settings.repository and settings.pull_number:
        comment = Comment(github, settings.repository, settings.pull_number, settings.run_url, warn_only=True)
    return Destinations(
        files=tuple((fmt, reports / f"report.{suffix}") for fmt, suffix in FILES),
        prefix=prefix,
        annotations=True,
        summary=Path(settings.summary_path) if settings.summary_path else None,
        outputs=Path(settings.output_path) if settings.output_path else None,
        comment=comment,
    )


def action(settings: Settings, github: GitHub | None, out: Progress) -> int:
    """Check the inputs as the CLI does, install the project, run the mode, publish; return the exit code."""
    args = copy.copy(settings.args)
    if settings.mode == "apply" and (settings.pull_number or settings.event_name not in APPLY_EVENTS):
        raise UsageError(
            f"mode: apply migrates the target itself and runs only on {', '.join(APPLY_EVENTS)}, "
            f"never on a pull request's code (this run: {settings.event_name or 'no event'})",
            "run it in the deploy job (push to the main branch, workflow_dispatch or a release), "
            "after the gate: see docs/workflows/preflight-apply.yml",
        )
    if settings.from_fork and args.target_url:
        raise UsageError(
            "refusing to run a fork's pull-request code with target-database-url",
            "use the two-phase workflow (docs/workflows/fork-safe-*.yml): preview forks against a dump or a base ref",
        )
    validate(args)
    root = Path(args.project).resolve()
    temp = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    pass_env = PassEnv(tuple(args.pass_env))
    pass_env.validate()  # before the install runs the project's code with it
    if not args.python:
        args.python = install(
            root, temp / "preflight-venv", settings.install_command, settings.python_version, pass_env, out
        )
    if settings.mode == "squash-report":
        return squash.run(settings, args, github, temp, out)
    if settings.mode == "apply":
        return deploy.run(settings, args, root, temp, out)
    approvals = label_approvals(github, settings) if github and settings.approve_label else []
    report = preview(preview_options(args, approvals), out)
    ending = publish(report, destinations(settings, root, github, temp)).ending
    if ending is not None:
        print(workflow.message_line("error", ending.line()))
        return ending.exit_code
    return ExitCode.OK
