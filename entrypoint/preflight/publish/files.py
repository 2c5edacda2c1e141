"""Report files: each format rendered once, written where the edge said."""

from __future__ import annotations

from pathlib import Path

from preflight import disk
from preflight.errors import UsageError
from preflight.report import render
from preflight.report.model import Report
from preflight.report.sarif import to_sarif

FORMATS = ("markdown", "json", "sarif")


class Renderings:
    """The report in each format, rendered at most once however many places want it."""

    def __init__(self, report: Report, prefix: str = "") -> None:
        self.report = report
        self.prefix = prefix  # the project's folder in the repository, for SARIF locations
        self._done: dict[str, str] = {}

    def __getitem__(self, fmt: str) -> str:
        if fmt not in self._done:
            if fmt == "markdown":
                self._done[fmt] = render.to_markdown(self.report)
            elif fmt == "json":
                self._done[fmt] = render.to_json(self.report)
            elif fmt == "sarif":
                self._done[fmt] = to_sarif(self.report.findings, self.prefix)
            else:
                raise ValueError(f"unknown report format {fmt!r}")
        return self._done[fmt]


def write(path: Path, text: str) -> None:
    """Write a report; a full disk names where (a write error carries no file name of its own)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        if disk.is_enospc(exc):
            raise disk.full_error(f"writing {path}", path.parent) from None
        raise UsageError(f"cannot write {path}: {exc.strerror}", "check the path and its permissions") from None
