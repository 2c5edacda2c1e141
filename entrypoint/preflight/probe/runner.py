"""One probe request in a session of its own, for callers that need a single answer.

The pipeline keeps one `ProbeSession` for the whole run (preflight.probe.session); the
baseline, the demo, tests and benchmarks that ask one thing use `run`. Errors map as in
preflight.probe.errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preflight.probe.errors import error_from
from preflight.probe.session import PROTOCOL, ProbeSession, probe_env
from preflight.project import Project

__all__ = ["PROTOCOL", "error_from", "probe_env", "run"]


def run(
    project: Project,
    verb: str,
    database_url: str,
    *,
    to: list[str] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """Run one probe verb and return its result, or raise the matching PreflightError.

    `extra` takes the apply options as command-line words: --no-capture, --lock-timeout MS.
    """
    fields: dict[str, Any] = {}
    words = list(extra or [])
    while words:
        word = words.pop(0)
        if word == "--no-capture":
            fields["capture"] = False
        elif word == "--lock-timeout":
            fields["lock_timeout"] = int(words.pop(0))
        else:
            raise ValueError(f"unknown probe option {word!r}")
    with ProbeSession(project, database_url) as session:
        return session.request(verb, to=to, on_progress=on_progress, **fields)
