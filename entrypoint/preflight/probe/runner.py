"""One probe request in a session of its own, for callers that need a single answer.

The pipeline, the demo and the --base-ref baseline keep a `ProbeSession` (preflight.probe.session);
tests that ask one thing use `run`. Errors map as in
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
) -> dict[str, Any]:
    """Run one probe verb and return its raw result, or raise the matching PreflightError."""
    with ProbeSession(project, database_url) as session:
        return session.request(verb, to=to, on_progress=on_progress)
