"""The probe's verbs run in this interpreter, against Django's own connection: the route's engine.

The route (`preflight.django`) runs inside the project's running site, where Django is
already set up and its settings point at the real database. There is no child to start:
`InProcessEngine` imports the child's verb functions (`child_module`) and runs them here,
on the connection of `alias`, then reads their results with the same protocol records as
`ProbeSession`, after the same JSON round trip, so both engines give the same answers.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from preflight.errors import UsageError
from preflight.probe import protocol
from preflight.probe.errors import error_from
from preflight.probe.session import Progress, child_module
from preflight.project import Project

Verb = Callable[[dict[str, Any], Any, Callable[..., None]], dict[str, Any]]


def _verbs() -> dict[str, Verb]:
    graph, sql, deploy = child_module("graph"), child_module("sql"), child_module("deploy")

    def plan(request: dict[str, Any], connection: Any, progress: Callable[..., None]) -> dict[str, Any]:
        result: dict[str, Any] = graph.verb_plan(request, connection)
        return result

    return {"plan": plan, "sql": sql.verb_sql, "deploy": deploy.verb_deploy, "verify": deploy.verb_verify}


def site_project() -> Project:
    """The running site as a Project: its BASE_DIR (else the working folder), settings and interpreter."""
    from django.conf import settings

    root = Path(getattr(settings, "BASE_DIR", None) or Path.cwd())
    return Project(root=root, settings=os.environ.get("DJANGO_SETTINGS_MODULE", ""), python=sys.executable)


class InProcessEngine:
    """`with InProcessEngine() as engine: engine.plan(); engine.deploy(settings); engine.verify()`.

    The same verbs and answers as `ProbeSession`, for a process where Django is set up.
    The connection stays Django's (it is not closed; the session settings a deploy
    changes are put back). Not inside a transaction: a non-atomic migration could not
    run there, so a deploy from an atomic block is refused.
    """

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.project = site_project()
        self._last_id = 0

    def __enter__(self) -> InProcessEngine:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to stop: the connection is Django's, and Django closes it."""

    # -- the verbs ---------------------------------------------------------------------

    def plan(self, to: list[str] | None = None) -> protocol.PlanAnswer:
        return protocol.PlanAnswer.parse(self.request("plan", to=to))

    def sql(self, to: list[str] | None = None, on_progress: Progress | None = None) -> protocol.SqlAnswer:
        return protocol.SqlAnswer.parse(self.request("sql", to=to, on_progress=on_progress))

    def deploy(
        self, settings: protocol.DeploySettings, on_progress: Progress | None = None, to: list[str] | None = None
    ) -> protocol.DeployAnswer:
        """Apply the pending migrations (up to `to`) on Django's connection: timeouts, retries, waits."""
        return protocol.DeployAnswer.parse(self.request("deploy", to=to, on_progress=on_progress, **settings.fields()))

    def verify(self) -> protocol.VerifyAnswer:
        return protocol.VerifyAnswer.parse(self.request("verify"))

    # -- one request -------------------------------------------------------------------

    def request(
        self, verb: str, *, to: list[str] | None = None, on_progress: Progress | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Run one verb here and return its result as the child would send it, or raise its error."""
        graph, errors = child_module("graph"), child_module("errors")
        self._last_id += 1
        request = dict(
            fields, protocol=protocol.PROTOCOL, id=self._last_id, verb=verb, to=list(to or []), database=self.alias
        )

        def progress(event: str, **detail: Any) -> None:
            if on_progress is not None:
                on_progress(dict(detail, event=event))

        try:
            connection = graph.connect(self.alias)
            if connection.in_atomic_block:
                raise UsageError(
                    f"the {verb} runs inside a transaction (ATOMIC_REQUESTS or transaction.atomic)",
                    "run it outside atomic(): decorate the view with transaction.non_atomic_requests",
                )
            result = _verbs()[verb](request, connection, progress)
        except errors.ProbeError as exc:
            raise error_from(exc.as_dict(), self.project) from exc
        except UsageError:
            raise
        except Exception as exc:  # a bug in the probe, or the project's code outside a migration
            detail = dict(errors.describe_exception(exc), kind="internal", message="the probe failed")
            raise error_from(detail, self.project) from exc
        # What crosses the pipe is JSON: the same types, so the same records, as from a child.
        answer: dict[str, Any] = json.loads(json.dumps(result, default=str))
        answer["_django"] = _django_version()
        answer["_python"] = platform.python_version()
        return answer


def _django_version() -> str | None:
    django = sys.modules.get("django")
    version = getattr(django, "get_version", None)
    return str(version()) if callable(version) else None
