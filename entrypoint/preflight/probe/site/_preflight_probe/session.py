"""One probe session: Django set up once, then requests answered until shutdown.

The host passes two pipes (`--requests-fd`, `--answers-fd`); every message is one JSON
line carrying the protocol version and the request's id:

    request   {"protocol", "id", "verb", "to", "database", "lock_timeout", "capture"}
              (deploy: "lock_timeout_ms", "statement_timeout_ms", "retries", "backoff_ms", "backoff_max_ms")
    ready     {"protocol", "id": null, "type": "ready", "django", "python", "setup_ms", "pid"}
    progress  {"protocol", "id", "type": "progress", "event": {"event": verb, ...}}
    answer    {"protocol", "id", "type": "answer", "ok", "result" | "error", "django", "python", "session"}

The project's code keeps stdout and stderr (it may print, even at import time): neither
is the answers pipe, so nothing it writes can be taken for an answer. An error is an
answer ({"kind", "message", ...}); a failed setup answers every request with its error.
Each request gets its own database connection (closed after it), as a separate run would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from typing import IO, Any, Callable

from _preflight_probe import PROTOCOL
from _preflight_probe.errors import Detail, ProbeError, describe_exception

Verb = Callable[[Detail, Any, Callable[..., None]], Detail]


def _verbs() -> dict[str, Verb]:
    # Imported after django.setup(): these modules import Django's migration machinery.
    from _preflight_probe.apply import verb_apply, verb_roundtrip
    from _preflight_probe.deploy import verb_deploy, verb_verify
    from _preflight_probe.graph import verb_plan
    from _preflight_probe.history import verb_history
    from _preflight_probe.sql import verb_sql

    def plan(request: Detail, connection: Any, progress: Callable[..., None]) -> Detail:
        return verb_plan(request, connection)

    return {
        "plan": plan,
        "sql": verb_sql,
        "apply": verb_apply,
        "roundtrip": verb_roundtrip,
        "history": verb_history,
        "deploy": verb_deploy,
        "verify": verb_verify,
    }


class Session:
    """The request loop over the two pipes."""

    def __init__(self, requests: IO[str], answers: IO[str]) -> None:
        self.requests, self.answers = requests, answers
        self.django: str | None = None
        self.setup_error: Detail | None = None
        self.setups = 0
        self.served = 0

    def send(self, message: Detail) -> None:
        self.answers.write(json.dumps(dict(message, protocol=PROTOCOL), default=str) + "\n")
        self.answers.flush()

    def setup(self) -> None:
        """Set Django up once; remember why not, to answer every request with it."""
        from _preflight_probe.graph import setup_django

        started = time.perf_counter()
        try:
            self.django = setup_django()
            self.setups += 1
        except ProbeError as exc:
            self.setup_error = exc.as_dict()
        except Exception as exc:  # a bug in the probe, or the project's code outside its settings
            self.setup_error = dict(describe_exception(exc), kind="internal", message="the probe failed")
        self.send(
            {
                "id": None,
                "type": "ready",
                "django": self.django,
                "python": platform.python_version(),
                "setup_ms": (time.perf_counter() - started) * 1000.0,
                "pid": os.getpid(),
                "ok": self.setup_error is None,
            }
        )

    def answer(self, request: Detail) -> Detail:
        """Run one request; return its answer (never raises for the project's errors)."""
        answer: Detail = {
            "id": request.get("id"),
            "type": "answer",
            "verb": request.get("verb"),
            "python": platform.python_version(),
            "executable": sys.executable,
            "django": self.django,
            "ok": False,
        }
        if request.get("protocol") != PROTOCOL:
            answer["error"] = {
                "kind": "usage",
                "message": f"the probe speaks {PROTOCOL}, not {request.get('protocol')!r}",
            }
            return answer
        verbs = _verbs() if self.setup_error is None else {}
        if self.setup_error is not None:
            answer["error"] = self.setup_error
            return answer
        verb = verbs.get(str(request.get("verb")))
        if verb is None:
            answer["error"] = {"kind": "usage", "message": f"the probe has no verb {request.get('verb')!r}"}
            return answer

        def progress(event: str, **fields: Any) -> None:
            self.send({"id": request.get("id"), "type": "progress", "event": dict(fields, event=event)})

        connection = None
        try:
            from _preflight_probe.graph import connect

            connection = connect(request.get("database"))
            answer["result"] = verb(request, connection, progress)
            answer["ok"] = True
        except ProbeError as exc:
            answer["error"] = exc.as_dict()
        except Exception as exc:  # a bug in the probe or in user code outside a migration
            answer["error"] = dict(describe_exception(exc), kind="internal", message="the probe failed")
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()  # the next request starts clean: no lock_timeout, no transaction
        self.served += 1
        answer["session"] = {"pid": os.getpid(), "setups": self.setups, "requests": self.served}
        return answer

    def run(self) -> int:
        self.setup()
        for line in self.requests:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError:
                self.send(
                    {"id": None, "type": "answer", "ok": False, "error": {"kind": "usage", "message": "not JSON"}}
                )
                continue
            if request.get("verb") == "shutdown":
                self.send({"id": request.get("id"), "type": "answer", "ok": True, "result": {}})
                return 0
            self.send(self.answer(request))
        return 0  # the host closed the requests pipe: it is done with us


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m _preflight_probe")
    parser.add_argument("--requests-fd", type=int, required=True)
    parser.add_argument("--answers-fd", type=int, required=True)
    args = parser.parse_args(argv)
    # Not for the project's subprocesses: a child that kept the answers pipe open would
    # hide our own death from the host.
    os.set_inheritable(args.requests_fd, False)
    os.set_inheritable(args.answers_fd, False)
    with open(args.requests_fd, encoding="utf-8") as requests, open(args.answers_fd, "w", encoding="utf-8") as answers:
        return Session(requests, answers).run()
