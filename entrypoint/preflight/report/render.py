"""Render a Report to JSON or to Markdown through the Jinja2 templates.

Pure: no database, subprocess or network code. Everything rendered passes through
`secrets.redact` last, so no password can reach a report. Autoescape is off (this is
Markdown, not HTML): every value from the project goes through the filter for where
it lands (`md`, `code`, `cell`, `fenced`, `html`, `mermaid`; see preflight.escape).
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from preflight import escape
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


def first_line(text: str | None, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def one_line(text: str | None, limit: int = 160) -> str:
    """Collapse SQL onto one line (introspection queries span many) and shorten it."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def lock_mode(mode: str) -> str:
    from preflight.evidence.measured import mode_name

    return mode_name(mode)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=False,  # Markdown, not HTML: the templates escape each value for its place
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        duration=duration,
        seconds=seconds,
        size=size,
        first_line=first_line,
        one_line=one_line,
        lock_mode=lock_mode,
        thousands=lambda number: f"{number:,}",
        md=escape.md,
        code=escape.code,
        cell=escape.cell,
        fenced=escape.fenced,
        html=escape.html,
        mermaid=escape.mermaid,
    )
    return env


def to_markdown(report: Report) -> str:
    """The report as Markdown: a preview's, or what `preflight apply` did to the target."""
    template = "apply.md.j2" if report.deployment is not None else "report.md.j2"
    return redact(environment().get_template(template).render(report=report))


def to_json(report: Report) -> str:
    return escape.json_for_log(redact(json.dumps(report.to_dict(), indent=2, sort_keys=False))) + "\n"
