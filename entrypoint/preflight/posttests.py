"""--test-command: run the user's own checks against the migrated copy.

An edge module. The command is a shell command line, run as `/bin/sh -c COMMAND` (so
pipes, `&&` and `VAR=value cmd` work) in the project's folder, with the same environment
the probe gets (DATABASE_URL and DJANGO_SETTINGS_MODULE=preflight_settings wrapping the
project's settings) and the project's virtualenv first on PATH, so Django, pytest-django
or a plain script all reach the copy. Django's test runner creates its test database on
the same throwaway server. Its own process group is killed when it ends, times out or is
interrupted, so nothing it started outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque

from preflight import secrets
from preflight.errors import UsageError
from preflight.probe.runner import Project, probe_env
from preflight.rules.measured import TestRun

SHELL = "/bin/sh"
TAIL_LINES = 40
TIMED_OUT = 124  # the exit code `timeout(1)` uses


def run(project: Project, command: str, database_url: str, timeout_s: float = 1800) -> TestRun:
    """Run `command` through /bin/sh against the copy; return its exit code and last lines."""
    if not command.strip():
        raise UsageError("--test-command is empty", 'e.g. --test-command "pytest -x tests/"')
    env = probe_env(project, database_url)
    env["PATH"] = f"{project.python.rsplit('/', 1)[0]}:{env.get('PATH', '')}"  # the project's venv first
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        [SHELL, "-c", command],
        cwd=project.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order it was written
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group, to stop everything it started
    )
    reader = threading.Thread(target=_read, args=(process, tail), daemon=True)
    reader.start()
    timed_out = False
    try:
        code = process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out, code = True, TIMED_OUT
    finally:
        _kill_group(process)
    reader.join(5)
    if timed_out:
        tail.append(f"(timed out after {timeout_s:.0f} s)")
    return TestRun(
        command=command,
        exit_code=code,
        duration_s=round(time.monotonic() - started, 2),
        tail=secrets.redact("\n".join(tail).rstrip()),
        timed_out=timed_out,
    )


def _read(process: subprocess.Popen[str], tail: deque[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line.rstrip("\n"))


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Stop the command and whatever it left running (background jobs, a server it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
