"""Errors the host turns into messages, and how the probe describes an exception.

Every error is an answer: {"kind", "message", ...detail}; the host maps `kind` to the
message and exit code the user sees (preflight.probe.runner.error_from).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any, Callable, Dict, TypeVar

T = TypeVar("T")
Detail = Dict[str, Any]
HERE = os.path.dirname(os.path.realpath(__file__))


class ProbeError(Exception):
    """A failure the caller turns into a message and an exit code."""

    def __init__(self, kind: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.kind, self.message, self.detail = kind, message, detail

    def as_dict(self) -> Detail:
        return dict(self.detail, kind=self.kind, message=self.message)


def safe(call: Callable[[], T], default: Any = None) -> Any:
    """Return call(), or `default` if it raises (describing is never worth a crash)."""
    try:
        return call()
    except Exception:
        return default


def _own(path: str) -> bool:
    """True for a file of this package (never the project's code)."""
    return os.path.realpath(path).startswith(HERE + os.sep)


def display_path(path: str) -> str | None:
    """Return `path` as a reader should see it, never in this machine's layout.

    Inside the project (and not in a virtualenv there): relative to the project root.
    Elsewhere: relative to the sys.path entry that holds it, so a migration of an
    installed package reads django/contrib/auth/migrations/0001_initial.py. None when
    no sys.path entry holds it.
    """
    real = os.path.realpath(path)
    root = os.path.realpath(os.getcwd())
    installed = any(part in ("site-packages", "dist-packages") for part in real.split(os.sep))
    if real.startswith(root + os.sep) and not installed:
        return os.path.relpath(real, root)
    entries = {os.path.realpath(entry or os.curdir).rstrip(os.sep) for entry in sys.path}
    holding = [entry for entry in entries if real.startswith(entry + os.sep)]
    return os.path.relpath(real, max(holding, key=len)) if holding else None


def relative(path: str) -> str:
    """Return `path` relative to the project (the probe runs in its folder) when it is inside it."""
    root = os.path.realpath(os.getcwd())
    real = os.path.realpath(path)
    return os.path.relpath(real, root) if real.startswith(root + os.sep) else path


def _frame(entry: traceback.FrameSummary) -> Detail:
    shown = display_path(entry.filename) if os.path.isabs(entry.filename) else None
    return {"file": shown or entry.filename, "line": entry.lineno, "function": entry.name, "code": entry.line}


def in_project(filename: str) -> bool:
    """True for a file of the project's own code (not Django, not site-packages, not the probe)."""
    if filename.startswith("<"):
        return False  # <frozen importlib._bootstrap>: Python's own, though realpath would put it here
    root = os.path.realpath(os.getcwd())
    path = os.path.realpath(filename)
    return path.startswith(root + os.sep) and "site-packages" not in path and not _own(path)


def _user_frame(entries: list[traceback.FrameSummary]) -> Detail | None:
    """Return the innermost frame in the project's own code."""
    for entry in reversed(entries):
        if in_project(entry.filename):
            return _frame(entry)
    return None


# PostgreSQL's DETAIL lines quote the rows themselves ("Key (email)=(ann@example.com)
# already exists.", "Failing row contains (...)"): production data, kept out of the report.
ROW_VALUES = (
    (re.compile(r"(Key \((?:[^()]|\([^()]*\))*\))=\((?:[^()]|\([^()]*\))*\)"), r"\1=(…)"),
    (re.compile(r"Failing row contains \(.*\)"), "Failing row contains (…)"),
)


def redact_rows(text: str) -> str:
    """Replace the row values PostgreSQL quotes in an error's DETAIL with an ellipsis."""
    for pattern, replacement in ROW_VALUES:
        text = pattern.sub(replacement, text)
    return text


def describe_exception(exc: BaseException) -> Detail:
    """Return the exception as the host reads it: type, message, frames, a short traceback."""
    entries = traceback.extract_tb(exc.__traceback__)
    return {
        "type": type(exc).__name__,
        "error": redact_rows(f"{type(exc).__name__}: {str(exc).strip()}").rstrip(": "),
        "frame": _frame(entries[-1]) if entries else None,
        "user_frame": _user_frame(entries),
        "traceback": redact_rows("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))[-4000:],
    }


def sqlstate(exc: BaseException | None) -> str | None:
    """Return the SQLSTATE of a database error (or of its cause), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for attribute in ("sqlstate", "pgcode"):
            value = getattr(exc, attribute, None)
            if isinstance(value, str):
                return value
        diag = getattr(exc, "diag", None)
        if diag is not None and getattr(diag, "sqlstate", None):
            return str(diag.sqlstate)
        exc = exc.__cause__ or exc.__context__
    return None
