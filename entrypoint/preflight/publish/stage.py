"""The publish stage: one Report to every destination the edge asked for.

The CLI and the Action both end here. They build the destinations (a format on stdout,
report files, the sticky comment through the GitHub client they made, annotations, the
step summary, step outputs) and pass them in; this module decides nothing about where
things go, and nothing about the exit code but what `verdict` says.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from preflight.errors import PreflightError
from preflight.github.client import GitHub, GitHubError
from preflight.publish import comment, workflow
from preflight.publish.files import Renderings, write
from preflight.report.model import Report
from preflight.verdict import verdict


@dataclass(frozen=True)
class Comment:
    """The sticky pull-request comment, posted through the client the edge built."""

    github: GitHub
    repo: str
    number: int
    summary_url: str | None = None
    clean: bool | None = None  # say "this push fixed all of them"; None: when nothing blocks the run
    warn_only: bool = False  # a refused comment is a warning (the Action), not the run's error


@dataclass(frozen=True)
class Destinations:
    """Where a report goes; the edges fill in what they have."""

    stdout: str | None = None  # a format (markdown, json, sarif) written to `stream`
    files: tuple[tuple[str, Path], ...] = ()  # (format, path), written in this order
    prefix: str = ""  # the project's folder in the repository: SARIF locations, annotation files
    annotations: bool = False  # a workflow command per unapproved finding, on `stream`
    summary: Path | None = None  # GITHUB_STEP_SUMMARY
    outputs: Path | None = None  # GITHUB_OUTPUT
    comment: Comment | None = None
    stream: IO[str] = field(default_factory=lambda: sys.stdout)


@dataclass(frozen=True)
class Published:
    """What the run ends with, and where the comment is."""

    ending: PreflightError | None  # the error the run exits with (verdict), or None
    comment_url: str = ""


def publish(report: Report, to: Destinations) -> Published:
    """Write `report` to every destination in `to`; return the verdict and the comment's URL."""
    ending = verdict(report)
    rendered = Renderings(report, to.prefix)
    for fmt, path in to.files:
        write(path, rendered[fmt])
    if to.stdout:
        to.stream.write(rendered[to.stdout])
        to.stream.flush()
    if to.summary:
        workflow.write_summary(to.summary, rendered["markdown"])
    if to.annotations:
        for line in workflow.annotation_lines(report.findings, to.prefix):
            print(line, file=to.stream)
    comment_url = _comment(to.comment, rendered["markdown"], ending is None, to.stream) if to.comment else ""
    if to.outputs:
        paths = {fmt: str(path) for fmt, path in reversed(to.files)}  # the first file of a format wins
        workflow.write_outputs(to.outputs, workflow.outputs(report, ending is not None, paths, comment_url))
    return Published(ending, comment_url)


def _comment(to: Comment, markdown: str, clean: bool, stream: IO[str]) -> str:
    """Post or edit the sticky comment; in the Action a refusal is a warning, not the run's end."""
    try:
        return comment.publish(
            to.github, to.repo, to.number, markdown, clean if to.clean is None else to.clean, to.summary_url
        )
    except GitHubError as exc:
        if not to.warn_only:
            raise
        print(workflow.message_line("warning", f"could not comment: {exc.line()}"), file=stream)
        return ""
