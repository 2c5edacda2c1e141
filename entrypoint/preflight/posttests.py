"""--test-command: run the user's own checks against the migrated copy.

An edge module. The command runs in the project's folder with the same environment the
probe gets (DATABASE_URL and DJANGO_SETTINGS_MODULE=preflight_settings wrapping the
project's settings), so Django, pytest-django or a plain script all reach the copy.
Django's test runner creates its test database on the same throwaway server.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections import deque

from preflight import janitor, secrets, watchdog
from preflight.errors import UsageError
from preflight.probe.runner import Project, probe_env
from preflight.rules.measured import TestRun

TAIL_LINES = 40


def run(project: Project, command: str, database_url: str, timeout_s: float = 1800) -> TestRun:
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--test-command does not parse: {exc}", "quote it as one shell word") from None
    if not args:
        raise UsageError("--test-command is empty", 'e.g. --test-command "pytest -x tests/"')
    env = probe_env(project, database_url)
    env["PATH"] = f"{project.python.rsplit('/', 1)[0]}:{env.get('PATH', '')}"  # the project's venv first
    started = time.monotonic()
    try:
        # A process group of its own: test workers it starts die with it, and with Preflight.
        with janitor.project_process(
            args,
            what="--test-command",
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout_s)
                code, output = process.returncode, stdout + stderr
            except subprocess.TimeoutExpired:
                watchdog.kill_group(process.pid)
                stdout, stderr = process.communicate()
                code, output = 124, f"{stdout}{stderr}\n(timed out after {timeout_s:.0f} s)"
    except FileNotFoundError as exc:
        if exc.filename != args[0]:
            raise
        raise UsageError(f"--test-command: {args[0]} not found", "use a command on PATH or the venv") from None
    tail = "\n".join(deque(output.rstrip().splitlines(), maxlen=TAIL_LINES))
    return TestRun(
        command=command, exit_code=code, duration_s=round(time.monotonic() - started, 2), tail=secrets.redact(tail)
    )
