"""--test-command: run the user's own checks against the migrated copy.

An edge module. The command is a shell command line, run as `/bin/sh -c COMMAND` (so
pipes, `&&` and `VAR=value cmd` work) in the project's folder, with the same allow-listed
environment the probe gets (DATABASE_URL and DJANGO_SETTINGS_MODULE=_preflight_probe.settings
wrapping the project's settings) and the project's virtualenv first on PATH, so Django,
pytest-django or a plain script all reach the copy. Django's test runner creates its test
database on the same throwaway server. It runs in a process group of its own, killed when
it ends, times out or is interrupted, and when Preflight dies, so nothing it started
outlives the run.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import deque

from preflight import janitor, secrets, watchdog
from preflight.errors import UsageError
from preflight.evidence.measured import TestRun
from preflight.probe.session import probe_env
from preflight.project import Project

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
    timed_out = False
    with janitor.project_process(
        [SHELL, "-c", command],
        what="--test-command",
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order it was written
        text=True,
        errors="replace",
    ) as process:
        reader = threading.Thread(target=_read, args=(process, tail), daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out, code = True, TIMED_OUT
        finally:
            # Whatever it left running (background jobs, a server it started) goes with it.
            watchdog.kill_group(process.pid)
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
