"""The probe's error answers, mapped to the one-line message and exit code the user sees.

The probe answers a failure as {"kind", "message", ...detail}; `error_from` turns each
kind into a PreflightError whose message names the cause and the fix.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from preflight import disk, secrets
from preflight.errors import PreflightError, ProjectError, UsageError
from preflight.project import Project


def _given(project: Project) -> dict[str, str]:
    """The variables the project's code gets from Preflight (see session.probe_env)."""
    from preflight.probe.session import probe_env  # the session maps its answers with error_from

    return probe_env(project, "postgresql://")


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
        if match and match.group(1) not in _given(project):
            return match.group(1)
    return None


def conflict_error(conflicts: Mapping[str, Sequence[str]], project: Project) -> PreflightError:
    """The error for apps with several leaf migrations (the plan's or the history's `conflicts`)."""
    message = "conflicting migrations: " + "; ".join(
        f"{app} has leaves {', '.join(names)}" for app, names in sorted(conflicts.items())
    )
    return error_from({"kind": "conflict", "message": message}, project)


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
