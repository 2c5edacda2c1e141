"""Install the user's project into a virtualenv, from what the repository has.

uv.lock -> uv sync; poetry.lock -> poetry export | uv pip install; requirements*.txt ->
uv pip install -r; pyproject.toml or setup.py -> uv pip install .; or the
install-command input, run with the venv first on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from preflight.environment import PassEnv, for_project_code
from preflight.errors import ProjectError
from preflight.progress import Progress


def _run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ProjectError(
            f"installing the project ({what}) failed: {' / '.join(tail)}",
            "fix the requirements, or set the install-command input",
        )


def install(
    root: Path, venv: Path, command: str | None, python_version: str | None, pass_env: PassEnv, progress: Progress
) -> str:
    """Create `venv`, install the project into it, return its python.

    The installers run the project's code (setup.py, build backends, install-command), so
    they get the allow-listed environment plus the installers' own settings: never the
    target URL, the GitHub token or the runner's other tokens.
    """
    uv = shutil.which("uv")
    env = for_project_code({"VIRTUAL_ENV": str(venv), "UV_PROJECT_ENVIRONMENT": str(venv)}, pass_env, installer=True)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    with progress.step(f"creating a virtualenv in {venv}"):
        if uv:
            _run(
                [
                    uv,
                    "venv",
                    "--quiet",
                    "--clear",
                    *(["--python", python_version] if python_version else []),
                    str(venv),
                ],
                root,
                env,
                "uv venv",
            )
        else:
            _run([sys.executable, "-m", "venv", "--clear", str(venv)], root, env, "python -m venv")
    python = str(venv / "bin" / "python")
    pip = [uv, "pip", "install", "--quiet", "--python", python] if uv else [python, "-m", "pip", "install", "-q"]
    with progress.step("installing the project's dependencies"):
        if command:
            _run(["bash", "-c", command], root, env, "install-command")
        elif (root / "uv.lock").exists() and uv:
            _run([uv, "sync", "--frozen", "--quiet"], root, env, "uv sync")
        elif (root / "poetry.lock").exists() and uv:
            exported = venv / "poetry-requirements.txt"
            _run(
                [
                    "uvx",
                    "--from",
                    "poetry",
                    "--with",
                    "poetry-plugin-export",
                    "poetry",
                    "export",
                    "--without-hashes",
                    "-f",
                    "requirements.txt",
                    "-o",
                    str(exported),
                ],
                root,
                env,
                "poetry export",
            )
            _run([*pip, "-r", str(exported)], root, env, "poetry.lock")
        elif requirements := sorted(root.glob("requirements*.txt"), key=lambda p: (p.name != "requirements.txt", p)):
            _run([*pip, "-r", str(requirements[0])], root, env, requirements[0].name)
        elif (root / "pyproject.toml").exists() or (root / "setup.py").exists():
            _run([*pip, "."], root, env, "pyproject.toml")
        else:
            raise ProjectError(
                f"{root} has no uv.lock, poetry.lock, requirements*.txt or pyproject.toml",
                "set the install-command input",
            )
    return python
