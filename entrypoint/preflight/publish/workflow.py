"""GitHub Actions workflow commands and files: masks, annotations, outputs, step summary.

Pure formatting plus writes to the files GitHub names in GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY. Every message and property is escaped as the runner requires, so
text from the project (a migration name with a line break, say) stays inside its command.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from preflight.escape import command_data, command_property
from preflight.report.model import Report
from preflight.rules.base import Finding
from preflight.secrets import redact

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def add_mask(stream: IO[str], secret: str | None) -> None:
    """Tell the runner to hide a secret in every log line (before anything prints it)."""
    if secret:
        # Escaped, or the runner would unescape a literal "%0A" in it and mask another string.
        stream.write(f"::add-mask::{command_data(secret)}\n")


def message_line(level: str, text: str) -> str:
    """One `::error`/`::warning` titled Preflight; the text (often from the project) stays its message."""
    return f"::{level} title=Preflight::{command_data(redact(text))}"


def annotation_lines(findings: Iterable[Finding], prefix: str = "") -> list[str]:
    """One ::error/::warning/::notice per unapproved finding, at its migration file and line."""
    lines = []
    for finding in findings:
        if finding.approval is not None:
            continue
        where = []
        if finding.file:
            where.append(f"file={command_property(prefix + finding.file)}")
            if finding.line:
                where.append(f"line={finding.line}")
        where.append(f"title={command_property(f'{finding.code} {finding.name}')}")
        text = redact(f"{finding.message}. Fix: {finding.fix}.")
        lines.append(f"::{LEVEL[finding.severity]} {','.join(where)}::{command_data(text)}")
    return lines


def outputs(report: Report, blocked: bool, paths: dict[str, str], comment_url: str) -> dict[str, str]:
    """Return the step outputs action.yml declares; `paths` maps a format to its report file."""
    return {
        "pending-count": str(len(report.migrations)),
        "findings-count": str(len([f for f in report.findings if f.approval is None])),
        "blocked": "true" if blocked else "false",
        "report-path": paths.get("markdown", ""),
        "report-json-path": paths.get("json", ""),
        "report-sarif-path": paths.get("sarif", ""),
        "comment-url": comment_url,
    }


def write_outputs(path: str | Path | None, values: dict[str, str]) -> None:
    """Append step outputs to GITHUB_OUTPUT (heredoc syntax, safe for any value)."""
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        for key, value in values.items():
            delimiter = f"preflight_{_random.token_hex(8)}"
            handle.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")


def write_summary(path: str | Path | None, markdown: str) -> None:
    """Append the report to the step summary, secrets redacted."""
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(redact(markdown) + "\n")
