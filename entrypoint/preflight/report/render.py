"""Render a Report to JSON or to Markdown through the Jinja2 templates.

Pure: no database, subprocess or network code. Everything rendered passes through
`secrets.redact` last, so no password can reach a report.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from preflight.report.model import Report
from preflight.secrets import redact
from preflight.units import duration, size


def template_dir() -> Path:
    """Return the templates folder: inside the wheel, or at the source checkout's top."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


def seconds(value: float | None) -> str:
    return duration(None if value is None else value * 1000)


def md_cell(text: object) -> str:
    """Make text safe inside one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def first_line(text: str | None, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def one_line(text: str | None, limit: int = 160) -> str:
    """Collapse SQL onto one line (introspection queries span many) and shorten it."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def mermaid(text: str) -> str:
    """Make text safe as a Mermaid gantt task name (no colons, hashes or semicolons)."""
    return str(text).replace(":", " ").replace("#", " ").replace(";", " ")


def lock_mode(mode: str) -> str:
    from preflight.rules.measured import mode_name

    return mode_name(mode)


def fence(text: str) -> str:
    """Return a code fence longer than any run of backticks inside `text`."""
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=False,  # Markdown, not HTML; cells are escaped by md_cell
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        duration=duration,
        seconds=seconds,
        size=size,
        md_cell=md_cell,
        first_line=first_line,
        one_line=one_line,
        mermaid=mermaid,
        lock_mode=lock_mode,
        fence=fence,
    )
    return env


def to_markdown(report: Report) -> str:
    return redact(environment().get_template("report.md.j2").render(report=report))


def to_json(report: Report) -> str:
    return redact(json.dumps(report.to_dict(), indent=2, sort_keys=False)) + "\n"
