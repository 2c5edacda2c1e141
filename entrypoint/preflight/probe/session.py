"""One probe session per run: the project's interpreter, Django set up once, many requests.

`ProbeSession(project, url)` starts `python -m _preflight_probe` in the project's folder
and interpreter, in a process group of its own (janitor.project_process), with the
allow-listed environment of the project's code (`probe_env`) and only the probe's own
folder (`site/`, holding the private package `_preflight_probe`) added to its path.
Starting does not wait: Django sets itself up while the host does other work (the
restore), and the first request waits for it.

Requests and answers travel as JSON lines over two pipes of their own (passed with
pass_fds), never over the child's stdout or stderr, which stay the project's: whatever
its code prints cannot be taken for an answer. Each message carries the protocol
version and the request's id. A child that dies or closes the pipe mid-request is a
ProjectError naming how it ended and its last line of output, never a hang.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Any

from preflight import disk, janitor, secrets, watchdog
from preflight.environment import for_project_code
from preflight.errors import InterruptedError_, ProjectError, UsageError
from preflight.probe import protocol
from preflight.probe.errors import error_from
from preflight.project import Project

SITE = Path(__file__).resolve().parent / "site"  # the only thing of Preflight's on the child's path
PACKAGE = "_preflight_probe"
SETTINGS = f"{PACKAGE}.settings"
PROTOCOL = protocol.PROTOCOL
_CLOSED = object()  # the answers pipe reached its end
_SETUP_KINDS = ("settings_import", "setup", "internal")  # errors a setup before the database existed may cause
_POLL = 0.1  # seconds between looks at whether the child still runs
_GRACE = 5.0  # seconds a child that closed its pipe, or was asked to stop, gets to exit

Progress = Callable[[dict[str, Any]], None]


def child_module(name: str) -> ModuleType:
    """Import `_preflight_probe.<name>` here, in Preflight's interpreter (tests, benchmarks)."""
    if str(SITE) not in sys.path:
        sys.path.append(str(SITE))  # last: the private name shadows nothing
    return importlib.import_module(f"{PACKAGE}.{name}")


def probe_env(project: Project, database_url: str) -> dict[str, str]:
    """Return the environment that points the project's settings at a scratch database."""
    path = os.pathsep.join([str(project.root), str(SITE)])
    return for_project_code(
        {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PREFLIGHT_USER_SETTINGS": project.settings,
            "DATABASE_URL": database_url,
            "PYTHONPATH": path + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        },
        project.pass_env,
    )


class ProbeSession:
    """A running probe: `with ProbeSession(project, url) as probe: probe.plan(); probe.sql() ...`.

    Each verb returns its answer parsed once into the versioned records of
    `preflight.probe.protocol`, or raises the PreflightError its error maps to; `request`
    returns the raw result (with `_django` and `_python` added) for the one-shot `runner.run`.
    """

    def __init__(
        self, project: Project, database_url: str, *, database: str | None = None, early: bool = False
    ) -> None:
        """`early`: started before the database exists; a failed setup is tried once more when asked."""
        self.project, self.database_url, self.database = project, database_url, database
        self.early = early  # a project whose apps read the database at setup could not have set up yet
        self.tail: deque[str] = deque(maxlen=30)  # the project's last lines of output, for errors
        self.started_at: float | None = None
        self.ready_at: float | None = None  # when Django was set up (or failed to)
        self.setup_seconds: float | None = None  # Django's setup, as the child measured it
        self.pid: int | None = None
        self.last_session: dict[str, Any] | None = None  # the child's pid, Django setups, requests served
        self._answers: queue.Queue[Any] = queue.Queue()
        self._stack = ExitStack()
        self._process: subprocess.Popen[str] | None = None
        self._requests: IO[str] | None = None
        self._threads: list[threading.Thread] = []
        self._last_id = 0

    # -- the verbs ---------------------------------------------------------------------

    def plan(self, to: list[str] | None = None) -> protocol.PlanAnswer:
        return protocol.PlanAnswer.parse(self.request("plan", to=to))

    def sql(self, to: list[str] | None = None, on_progress: Progress | None = None) -> protocol.SqlAnswer:
        return protocol.SqlAnswer.parse(self.request("sql", to=to, on_progress=on_progress))

    def apply(
        self,
        to: list[str] | None = None,
        lock_timeout: int | None = None,
        capture: bool = True,
        on_progress: Progress | None = None,
    ) -> protocol.ApplyAnswer:
        return protocol.ApplyAnswer.parse(
            self.request("apply", to=to, on_progress=on_progress, lock_timeout=lock_timeout, capture=capture)
        )

    def roundtrip(self, to: list[str], on_progress: Progress | None = None) -> protocol.RoundTripAnswer:
        return protocol.RoundTripAnswer.parse(self.request("roundtrip", to=to, on_progress=on_progress))

    def history(self) -> protocol.HistoryAnswer:
        return protocol.HistoryAnswer.parse(self.request("history"))

    def deploy(
        self, settings: protocol.DeploySettings, on_progress: Progress | None = None, to: list[str] | None = None
    ) -> protocol.DeployAnswer:
        """Apply the pending migrations (up to `to`) to the target itself: timeouts, retries, waits."""
        return protocol.DeployAnswer.parse(self.request("deploy", to=to, on_progress=on_progress, **settings.fields()))

    def verify(self) -> protocol.VerifyAnswer:
        """What is still pending on the target, and Django's system checks."""
        return protocol.VerifyAnswer.parse(self.request("verify"))

    @property
    def start_seconds(self) -> float | None:
        """Seconds from starting the child to Django being set up in it (None before that)."""
        if self.started_at is None or self.ready_at is None:
            return None
        return round(self.ready_at - self.started_at, 3)

    # -- the process ---------------------------------------------------------------------

    def __enter__(self) -> ProbeSession:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:  # the run failed or was interrupted: the group goes, with whatever it started
            self._stack.__exit__(kind, exc, tb)

    def start(self) -> None:
        """Start the child; do not wait for Django (the first request does)."""
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        args = [
            self.project.python,
            "-m",
            PACKAGE,
            "--requests-fd",
            str(requests_read),
            "--answers-fd",
            str(answers_write),
        ]
        try:
            self.started_at = time.monotonic()
            self._process = self._stack.enter_context(
                janitor.project_process(
                    args,
                    what="probe",
                    cwd=self.project.root,
                    env=probe_env(self.project, self.database_url),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    pass_fds=(requests_read, answers_write),
                )
            )
        except OSError as exc:
            os.close(requests_write)
            os.close(answers_read)
            self._stack.close()
            if exc.filename != self.project.python:  # not Popen failing to start it
                raise
            raise UsageError(
                f"cannot run the project's Python {self.project.python}: {exc.strerror}", "pass --python PATH"
            ) from None
        finally:
            os.close(requests_read)  # the child's ends: only the child may hold them now
            os.close(answers_write)
        self.pid = self._process.pid
        self._requests = os.fdopen(requests_write, "w", encoding="utf-8")
        answers = os.fdopen(answers_read, encoding="utf-8", errors="replace")
        self._threads = [
            threading.Thread(target=self._read_answers, args=(answers,), daemon=True),
            threading.Thread(target=self._read_output, args=(self._process.stdout,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Ask the child to stop, give it a moment, then make sure its group is gone."""
        process = self._process
        try:
            if process is not None and process.poll() is None and self._requests is not None:
                try:
                    self._write({"protocol": PROTOCOL, "id": self._next_id(), "verb": "shutdown"})
                    self._requests.close()
                except OSError:
                    pass  # it is gone already
                with suppress(subprocess.TimeoutExpired):
                    process.wait(_GRACE)
            if process is not None:
                _kill_group(process)  # still running, or whatever the project's code left in its group
        finally:
            self._process = None  # closed: a second close does nothing
            self._stack.close()
            for thread in self._threads:
                thread.join(_GRACE)

    def _read_answers(self, answers: IO[str]) -> None:
        with answers:
            for line in answers:
                self._answers.put(line)
        self._answers.put(_CLOSED)

    def _read_output(self, output: IO[str] | None) -> None:
        assert output is not None
        for line in output:
            self.tail.append(line.rstrip("\n"))

    # -- one request -------------------------------------------------------------------

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _write(self, message: dict[str, Any]) -> None:
        assert self._requests is not None
        self._requests.write(json.dumps(message) + "\n")
        self._requests.flush()

    def request(
        self, verb: str, *, to: list[str] | None = None, on_progress: Progress | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Send one request and wait for its answer, passing progress events on."""
        if self._process is None:
            raise RuntimeError("the probe session is not started")
        number = self._next_id()
        message = {"protocol": PROTOCOL, "id": number, "verb": verb, "to": list(to or []), "database": self.database}
        try:
            self._write(dict(message, **fields))
        except OSError:  # BrokenPipeError: it died before it could read
            raise self._ended(verb) from None
        answer = self._wait(verb, number, on_progress)
        if self.early and not answer.get("ok") and (answer.get("error") or {}).get("kind") in _SETUP_KINDS:
            # Set up before the copy existed: an app that reads the database in ready()
            # fails then. Start again, now that the database is there, and ask again.
            self.early = False
            self.close()
            self._stack = ExitStack()
            self._answers = queue.Queue()
            self.start()
            return self.request(verb, to=to, on_progress=on_progress, **fields)
        self.early = False
        return self._result(answer)

    def _wait(self, verb: str, number: int, on_progress: Progress | None) -> dict[str, Any]:
        """Return the answer to request `number`, passing its progress events on."""
        while True:
            item = self._receive(verb)
            kind = item.get("type")
            if kind == "ready":
                self._ready(item)
            elif item.get("id") != number:
                continue  # an answer to a request given up on (cannot happen: one at a time)
            elif kind == "progress":
                if on_progress is not None:
                    on_progress(item.get("event") or {})
            elif kind == "answer":
                return item

    def _ready(self, item: dict[str, Any]) -> None:
        self.ready_at = time.monotonic()
        setup = item.get("setup_ms")
        self.setup_seconds = round(float(setup) / 1000.0, 3) if isinstance(setup, (int, float)) else None

    def _receive(self, verb: str) -> dict[str, Any]:
        """Return the next message from the child; raise if it died or left the protocol."""
        assert self._process is not None
        while True:
            try:
                line = self._answers.get(timeout=_POLL)
            except queue.Empty:
                if self._process.poll() is None:
                    continue
                # Gone: what it wrote before dying is still in the pipe, or nothing is.
                try:
                    line = self._answers.get(timeout=_GRACE)
                except queue.Empty:
                    raise self._ended(verb) from None
            if line is _CLOSED:
                try:
                    self._process.wait(_GRACE)
                except subprocess.TimeoutExpired:
                    _kill_group(self._process)
                    raise ProjectError(
                        f"the probe ({verb}) closed its answers pipe without answering: {self._last()}",
                        "the project's code must not close file descriptors it did not open",
                    ) from None
                raise self._ended(verb)
            try:
                item = json.loads(line)
            except ValueError:
                raise ProjectError(
                    f"the probe ({verb}) answered something that is not JSON: {secrets.redact(line.strip()[:200])}",
                    "this looks like a bug in Preflight's probe: please report it",
                ) from None
            if not isinstance(item, dict) or item.get("protocol") != PROTOCOL:
                got = item.get("protocol") if isinstance(item, dict) else None
                raise ProjectError(f"the probe wrote protocol {got!r}, expected {PROTOCOL}")
            return item

    def _result(self, answer: dict[str, Any]) -> dict[str, Any]:
        self.last_session = answer.get("session")
        if not answer.get("ok"):
            raise error_from(answer.get("error") or {}, self.project)
        result: dict[str, Any] = answer["result"]
        result["_django"] = answer.get("django")
        result["_python"] = answer.get("python")
        return result

    def _ended(self, verb: str) -> Exception:
        """The error for a child that ended without answering."""
        assert self._process is not None
        try:
            code = self._process.wait(_GRACE)
        except subprocess.TimeoutExpired:
            _kill_group(self._process)
            code = self._process.wait()
        for thread in self._threads[1:]:
            thread.join(1.0)  # its last lines of output
        if code in (-signal.SIGINT, -signal.SIGTERM, 130):
            return InterruptedError_("the probe was interrupted")
        if code < 0:
            return ProjectError(
                f"the probe ({verb}) was killed by signal {-code}"
                + (f" after printing: {self._last()}" if any(line.strip() for line in self.tail) else ""),
                "a SIGKILL usually means the machine ran out of memory (the project's code or a data migration)",
            )
        if disk.says_full(*self.tail):
            return disk.full_error(f"the probe ({verb}) could not write its answer", disk.temp_dir())
        return ProjectError(
            f"the probe ({verb}) exited with {code} and wrote nothing: {self._last()}",
            f"check that {self.project.python} can run Django (pass --python PATH)",
        )

    def _last(self) -> str:
        meaningful = [line.strip() for line in self.tail if line.strip()]
        return secrets.redact(meaningful[-1]) if meaningful else "no output"


def _kill_group(process: subprocess.Popen[str]) -> None:
    watchdog.kill_group(process.pid)
    process.wait()
