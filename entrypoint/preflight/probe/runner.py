"""Run the probe in the project's own interpreter and turn its JSON into results or errors.

The probe file and `preflight_settings.py` are passed by path; the child gets
DJANGO_SETTINGS_MODULE=preflight_settings, PREFLIGHT_USER_SETTINGS=<theirs> and
DATABASE_URL=<scratch copy> on top of an allow-listed environment
(`environment.for_project_code`): no libpq variable, no Preflight input, no token, and no
value that carries the target's password reaches the project's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preflight import disk, janitor, secrets
from preflight.environment import for_project_code
from preflight.errors import InterruptedError_, PreflightError, ProjectError, UsageError
from preflight.project import Project

PROBE_DIR = Path(__file__).resolve().parent
PROBE = PROBE_DIR / "probe.py"
SCHEMA = "preflight-probe/1"
PROGRESS = "@preflight-progress "


def probe_env(project: Project, database_url: str) -> dict[str, str]:
    """Return the environment that points the project's settings at a scratch database."""
    path = os.pathsep.join([str(project.root), str(PROBE_DIR)])
    return for_project_code(
        {
            "DJANGO_SETTINGS_MODULE": "preflight_settings",
            "PREFLIGHT_USER_SETTINGS": project.settings,
            "DATABASE_URL": database_url,
            "PYTHONPATH": path + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        },
        project.pass_env,
    )


def run(
    project: Project,
    verb: str,
    database_url: str,
    *,
    to: list[str] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """Run one probe verb and return its `result`, or raise the matching PreflightError."""
    with janitor.temp_dir("probe") as tmp:
        out = tmp / "out.json"
        args = [project.python, str(PROBE), verb, "--out", str(out)]
        for target in to or []:
            args += ["--to", target]
        args += extra or []
        tail: deque[str] = deque(maxlen=30)
        try:
            # Its own process group, killed with whatever it started if we stop early or die.
            with janitor.project_process(
                args,
                what=f"probe ({verb})",
                cwd=project.root,
                env=probe_env(project, database_url),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            ) as process:
                reader = threading.Thread(target=_read_stdout, args=(process, tail), daemon=True)
                reader.start()
                assert process.stderr is not None
                for line in process.stderr:
                    if line.startswith(PROGRESS):
                        if on_progress:
                            on_progress(json.loads(line[len(PROGRESS) :]))
                    else:
                        tail.append(line.rstrip("\n"))
                process.wait()
        except OSError as exc:
            if exc.filename != project.python:  # not Popen failing to start it
                raise
            raise UsageError(
                f"cannot run the project's Python {project.python}: {exc.strerror}", "pass --python PATH"
            ) from None
        reader.join(5)
        if process.returncode in (-signal.SIGINT, -signal.SIGTERM, 130):
            raise InterruptedError_("the probe was interrupted")
        if process.returncode < 0:
            raise ProjectError(
                f"the probe ({verb}) was killed by signal {-process.returncode}"
                + (f" after printing: {_last(tail)}" if any(line.strip() for line in tail) else ""),
                "a SIGKILL usually means the machine ran out of memory (the project's code or a data migration)",
            )
        if not out.exists():
            if disk.says_full(*tail):
                raise disk.full_error(f"the probe ({verb}) could not write its answer", disk.temp_dir())
            raise ProjectError(
                f"the probe ({verb}) exited with {process.returncode} and wrote nothing: {_last(tail)}",
                f"check that {project.python} can run Django (pass --python PATH)",
            )
        document = json.loads(out.read_text())
    if document.get("schema") != SCHEMA:
        raise ProjectError(f"the probe wrote schema {document.get('schema')!r}, expected {SCHEMA}")
    if not document.get("ok"):
        raise error_from(document.get("error") or {}, project)
    result: dict[str, Any] = document["result"]
    result["_django"] = document.get("django")
    result["_python"] = document.get("python")
    return result


def _read_stdout(process: subprocess.Popen[str], tail: deque[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line.rstrip("\n"))


def _last(lines: deque[str]) -> str:
    meaningful = [line.strip() for line in lines if line.strip()]
    return secrets.redact(meaningful[-1]) if meaningful else "no output"


def _path_in(text: str) -> Path | None:
    """Return the absolute path an OSError message names ("...: '/tmp/x'"), if any."""
    match = re.search(r"'(/[^']+)'", text)
    return Path(match.group(1)).parent if match else None


def _where(frame: dict[str, Any] | None, root: Path) -> str:
    if not frame or str(frame.get("file", "")).startswith("<"):
        return ""  # "<frozen importlib._bootstrap>": Python's import machinery, not a place to fix
    path = Path(frame["file"])
    if path.is_absolute():  # the probe already made project and installed paths relative
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(root.resolve())
    return f" ({path}:{frame['line']})"


_MISSING_VARIABLE = (
    re.compile(r"^KeyError: '([A-Za-z_][A-Za-z0-9_]*)'$"),  # os.environ["NAME"]
    re.compile(r"\bSet the ([A-Za-z_][A-Za-z0-9_]*) environment variable\b"),  # django-environ
)


def _withheld_variable(cause: str, project: Project) -> str | None:
    """Name the environment variable the settings wanted and did not get, if that is the error."""
    for pattern in _MISSING_VARIABLE:
        match = pattern.search(cause.strip())
        if match and match.group(1) not in probe_env(project, "postgresql://"):
            return match.group(1)
    return None


def error_from(error: dict[str, Any], project: Project) -> PreflightError:
    """Map a probe error document to the exception (and exit code) the user sees."""
    kind = error.get("kind", "internal")
    message = secrets.redact(str(error.get("message", "the probe failed")))
    cause = secrets.redact(str(error.get("error", "")))
    where = _where(error.get("user_frame") or error.get("frame"), project.root)
    if kind == "django_missing":
        return ProjectError(message, "install the project's requirements into that interpreter, or pass --python PATH")
    variable = _withheld_variable(cause, project)
    if kind in ("settings_import", "setup") and variable:
        return ProjectError(
            f"{message}: {cause}{where}",
            f"the settings read ${variable}, which the project's code does not get from Preflight: "
            f"pass --pass-env {variable} (with a harmless value if the real one is a secret)",
        )
    if kind == "settings_import":
        return ProjectError(
            f"{message}: {cause}{where}", "fix the error, or pass --settings with the module manage.py uses"
        )
    if kind == "setup":
        return ProjectError(f"{message}: {cause}{where}", "fix the error so `manage.py check` passes")
    if kind == "conflict":
        return ProjectError(message, "run `python manage.py makemigrations --merge` and commit the merge migration")
    if kind == "missing_dependency":
        at = f" ({error['file']}:{error['line']})" if error.get("file") and error.get("line") else ""
        in_file = f" in {error['file']}" if error.get("file") else ""
        if not error.get("app_installed", True):
            return ProjectError(f"{message}{at}", "add that app to INSTALLED_APPS, or remove the dependency")
        return ProjectError(
            f"{message}{at}", f"fix the dependency{in_file}, or add the missing migration {error.get('missing')}"
        )
    if kind == "cycle":
        files = ", ".join(secrets.redact(str(f)) for f in error.get("files") or [])
        return ProjectError(message, "remove one of these dependencies" + (f" (in {files})" if files else ""))
    if kind == "migration_import":
        line = f"line {error['line']}: " if error.get("line") else ""
        return ProjectError(f"{message}: {line}{cause}", "fix the error in that file")
    if kind == "history":
        return ProjectError(
            f"{message}: {cause}",
            "the database has a migration applied before its dependency: preview the branch that database runs",
        )
    if kind == "graph":
        return ProjectError(f"{message}: {cause}{where}", "fix the migration files")
    if kind == "usage":
        return UsageError(message)
    if kind == "database":
        return ProjectError(f"{message}: {cause}", "the settings must use the PostgreSQL backend for this alias")
    if disk.says_full(cause):
        return disk.full_error(message, _path_in(cause) or disk.temp_dir())
    return ProjectError(f"{message}: {cause}{where}", "this looks like a bug in Preflight's probe: please report it")
