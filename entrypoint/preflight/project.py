"""Find the Django project: its folder, its settings module and its interpreter."""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from preflight.environment import PassEnv
from preflight.errors import ProjectError, UsageError


@dataclass(frozen=True)
class Project:
    """A Django project as the probe needs it: where, which settings, which Python."""

    root: Path
    settings: str
    python: str
    pass_env: PassEnv = field(default_factory=PassEnv)  # variables the user chose to give its code


def default_python(root: Path) -> str:
    """Return the project's .venv/venv interpreter if it has one, else this one."""
    for name in (".venv", "venv", "env"):
        for candidate in (root / name / "bin" / "python", root / name / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def settings_from_manage(manage: Path) -> str | None:
    """Return the module manage.py passes to os.environ.setdefault('DJANGO_SETTINGS_MODULE', ...)."""
    try:
        tree = ast.parse(manage.read_text(encoding="utf-8"), str(manage))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"  # type: ignore[attr-defined]
        ):
            return str(node.args[1].value)  # type: ignore[attr-defined]
    return None


def discover(
    path: str | Path, settings: str | None = None, python: str | None = None, pass_env: PassEnv | None = None
) -> Project:
    """Return the Project at `path`, or raise an error that says how to point at one."""
    pass_env = pass_env or PassEnv()
    pass_env.validate()
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"--project {path} is not a directory", "pass the folder that holds manage.py")
    manage = root / "manage.py"
    settings = settings or (settings_from_manage(manage) if manage.exists() else None)
    if settings is None:
        if not manage.exists():
            raise ProjectError(
                f"{root} is not a Django project: it has no manage.py",
                "pass --project with the folder holding manage.py, or name the settings with --settings",
            )
        settings = os.environ.get("DJANGO_SETTINGS_MODULE")
        if not settings:
            raise ProjectError(f"{manage} does not set DJANGO_SETTINGS_MODULE", "pass --settings mysite.settings")
    if python and not Path(python).exists():
        raise UsageError(f"--python {python} does not exist", "pass the path of the project's interpreter")
    # Absolute but not resolved: a venv's python is a symlink whose location is the venv.
    chosen = os.path.abspath(os.path.expanduser(python)) if python else default_python(root)
    return Project(root=root, settings=settings, python=chosen, pass_env=pass_env)
