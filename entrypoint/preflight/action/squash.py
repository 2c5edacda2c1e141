"""`mode: squash-report`: the report, then one issue labelled preflight-squash, or the step summary.

The step summary always gets the report, and the report files go under RUNNER_TEMP (for
an artifact). The issue needs `issues: write`; without it (GitHub answers 403), or where
the repository has issues turned off (410), the run says so in one warning line and still
succeeds: the summary holds the report. A token GitHub does not accept (401) is the run's
error (exit 2), as for the comment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from preflight.action.settings import Settings
from preflight.errors import ExitCode
from preflight.github.client import ForbiddenError, GitHub, GoneError
from preflight.options import squash_options
from preflight.progress import Progress
from preflight.publish import issue, workflow
from preflight.publish.files import write

NO_ISSUE = "the squash report is in the step summary only"


def run(settings: Settings, args: argparse.Namespace, github: GitHub | None, temp: Path, out: Progress) -> int:
    """Measure and rank the squashes, then publish the report; return the exit code."""
    from preflight.squash import render
    from preflight.squash.pipeline import squash_report

    report = squash_report(squash_options(args), out)
    return publish(settings, github, render.to_markdown(report), render.to_json(report), temp, sys.stdout)


def publish(
    settings: Settings, github: GitHub | None, markdown: str, json_text: str, temp: Path, stream: IO[str]
) -> int:
    """Write the files and the step summary, create or edit the issue, and set the outputs."""
    folder = temp / "preflight-report"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": folder / "squash.md", "json": folder / "squash.json"}
    write(paths["markdown"], markdown)
    write(paths["json"], json_text)
    workflow.write_summary(settings.summary_path, markdown)
    url = ""
    try:
        url = _issue(settings, github, markdown, stream)
    finally:  # the report's files are there even when the issue failed
        workflow.write_outputs(settings.output_path, outputs(paths, url))
    return ExitCode.OK


def outputs(paths: dict[str, Path], issue_url: str) -> dict[str, str]:
    """Return the step outputs of a squash report (action.yml declares them)."""
    return {"report-path": str(paths["markdown"]), "report-json-path": str(paths["json"]), "issue-url": issue_url}


def _issue(settings: Settings, github: GitHub | None, markdown: str, stream: IO[str]) -> str:
    """Create or edit the issue; return its URL, or "" after one warning line saying why not."""
    if github is None or not settings.repository:
        print(workflow.message_line("warning", f"{NO_ISSUE}: no github-token or GITHUB_REPOSITORY"), file=stream)
        return ""
    try:
        published = issue.publish(github, settings.repository, markdown, settings.run_url)
    except ForbiddenError as exc:
        why = f"{NO_ISSUE}: the token may not write issues ({exc.cause}). Grant the job `issues: write`"
        print(workflow.message_line("warning", why), file=stream)
        return ""
    except GoneError as exc:
        print(workflow.message_line("warning", f"{NO_ISSUE}: {exc.line()}"), file=stream)
        return ""
    print(f"squash report: {published.url}", file=stream)
    if published.unlabelled:
        why = (
            f"GitHub opened {published.url} without the label {issue.LABEL} (it drops labels the token may not set), "
            "so the next run cannot find it. Add the label to it"
        )
        print(workflow.message_line("warning", why), file=stream)
    return published.url
