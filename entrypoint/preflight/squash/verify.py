"""--verify: run each candidate's squash in a temporary copy of the project and prove it.

For each candidate, in a temp dir of this run (janitor.temp_dir, removed however the run
ends), without ever writing into the project itself:

1. copy the project (not .git, caches or virtualenvs) and run `squashmigrations <app>
   [start] end --noinput` there, in the project's interpreter with the environment the
   probe gets (its own process group, killed if the run dies); a refusal is its line;
2. migrate a new scratch database from zero with the squashed copy (a probe session, timed
   per migration) and compare its catalog with the database the pipeline built from zero
   with today's history (`schema.diff`: equal, or each difference);
3. run `migrate` of the squashed copy on that original database, which applied every
   migration the squash replaces: Django's `replaces` semantics say it runs nothing and
   records the squash applied, which is what a deploy of the squash will meet;
4. `makemigrations --check --dry-run` in the copy: the squash must not leave the models
   and the history apart.

Commands run through `python -m django` with the probe's settings wrapper, exactly as the
probe imports the project (`manage.py` may do more, and may not exist).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg

from preflight import janitor, secrets, watchdog
from preflight.errors import PreflightError
from preflight.postgres.base import Server
from preflight.probe.session import ProbeSession, probe_env
from preflight.progress import Progress
from preflight.project import Project
from preflight.squash import schema
from preflight.squash.model import AppSquash, Candidate, Verification

COMMAND_TIMEOUT_S = 900.0
SKIPPED = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules"} | {
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
CREATED = "Created new squashed migration "


class _Stop(Exception):
    """A candidate's verification ends here: `status` and the line that says why."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def verify(
    apps: Sequence[AppSquash], project: Project, server: Server, original_db: str, progress: Progress
) -> tuple[Verification, ...]:
    """Prove each candidate of `apps` against `original_db`, today's history migrated from zero."""
    candidates = [(app, app.candidate) for app in apps if app.candidate is not None]
    if not candidates:
        return ()
    # Read before any candidate's `migrate` records its squash there.
    original = schema.snapshot(server.info.conninfo(original_db))
    results = []
    for app, candidate in candidates:
        assert candidate is not None
        with progress.step(f"verifying the squash of {candidate.app} in a temporary copy"):
            results.append(verify_candidate(app, candidate, project, server, original_db, original))
    return tuple(results)


def verify_candidate(
    app: AppSquash,
    candidate: Candidate,
    project: Project,
    server: Server,
    original_db: str,
    original: schema.Snapshot,
) -> Verification:
    """Squash `candidate` in a copy of the project and prove it; never raise for what the project does."""
    started = time.monotonic()
    record = Verification(
        app=candidate.app,
        command=candidate.command,
        status="failed",
        migrations_before=app.migrations,
        original_ms=app.from_zero_ms,
    )
    with janitor.temp_dir("squash-verify") as where:
        copy = dataclasses.replace(project, root=copy_project(project.root, where / project.root.name))
        database = server.create_database("squashed")
        try:
            record = dataclasses.replace(record, squashed=_squash(candidate, project, copy, server.info.url(database)))
            record = _prove(record, candidate, copy, server, database, original_db, original)
        except _Stop as stop:
            record = dataclasses.replace(record, status=stop.status, detail=secrets.redact(stop.detail))
        finally:
            server.drop_database(database)
    return dataclasses.replace(record, seconds=round(time.monotonic() - started, 3))


def _prove(
    record: Verification,
    candidate: Candidate,
    copy: Project,
    server: Server,
    database: str,
    original_db: str,
    original: schema.Snapshot,
) -> Verification:
    """Build the squashed history from zero, compare, and check what a deploy of it meets."""
    url = server.info.url(database)
    name = record.squashed
    assert name is not None
    try:
        with ProbeSession(copy, url) as probe:
            built = probe.apply(capture=False)
    except PreflightError as exc:
        raise _Stop("failed", f"the squashed history does not load: {exc.cause}") from None
    if built.failure is not None:
        first = (built.failure.error.splitlines() or [""])[0]
        raise _Stop(
            "failed", f"the squashed history does not migrate a new database: {built.failure.migration}: {first}"
        )
    ours = [m for m in built.migrations if m.app == candidate.app]
    squashed_ms = round(sum(m.duration_ms or 0.0 for m in ours), 3)
    differences = schema.diff(original, schema.snapshot(server.info.conninfo(database)))
    record = dataclasses.replace(
        record,
        status="different" if differences else "equal",
        differences=differences,
        migrations_after=len(ours),
        squashed_ms=squashed_ms,
        saving_ms=round(record.original_ms - squashed_ms, 3),
    )
    try:
        accepts, accepts_detail = _accepts(candidate.app, name, copy, server, original_db)
    except _Stop as stop:  # a timeout: the schema's answer stands
        accepts, accepts_detail = False, stop.detail
    try:
        clean, clean_detail = _clean(copy, url)
    except _Stop as stop:
        clean, clean_detail = False, stop.detail
    return dataclasses.replace(
        record, accepts=accepts, accepts_detail=accepts_detail, clean=clean, clean_detail=clean_detail
    )


def copy_project(source: Path, destination: Path) -> Path:
    """Copy the project's files, not its VCS data, caches or virtualenvs (of any name)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if name in SKIPPED or os.path.isfile(os.path.join(folder, name, "pyvenv.cfg"))}

    shutil.copytree(source, destination, symlinks=True, ignore=ignore)
    return destination


def _squash(candidate: Candidate, project: Project, copy: Project, url: str) -> str:
    """Run squashmigrations in the copy; return the new migration's name."""
    code, output = _django(copy, url, "squashmigrations", *candidate.arguments, "--noinput")
    if code != 0:
        raise _Stop("refused", _error_line(output) or f"squashmigrations exited with {code}")
    created = next((line[len(CREATED) :].strip() for line in output.splitlines() if line.startswith(CREATED)), None)
    if created is None:
        raise _Stop("failed", "squashmigrations wrote no migration: " + (_last_line(output) or "no output"))
    path = Path(created)
    if not path.resolve().is_relative_to(copy.root.resolve()):
        # The app is imported from outside the project's folder (an installed package
        # pointing at it): the file landed there. Django never overwrites a migration,
        # so the file is the squash's own: take it back.
        if path.resolve().is_relative_to(project.root.resolve()):
            path.unlink(missing_ok=True)
        raise _Stop(
            "failed",
            f"squashmigrations wrote {path} outside the temporary copy: {candidate.app} is imported from "
            "outside the project's folder (an installed package?), so it cannot be squashed in a copy",
        )
    return path.stem


def _accepts(app: str, name: str, copy: Project, server: Server, original_db: str) -> tuple[bool, str | None]:
    """Migrate today's from-zero database with the squashed copy: nothing to run, the squash recorded."""
    code, output = _django(copy, server.info.url(original_db), "migrate", "--noinput")
    if code != 0:
        return False, f"migrate fails: {_error_line(output) or f'exit {code}'}"
    ran = [line.split()[1].rstrip(".") for line in output.splitlines() if line.strip().startswith("Applying ")]
    if ran:
        return False, f"migrate ran {', '.join(ran)} on a database that had applied every migration"
    with psycopg.connect(server.info.conninfo(original_db), connect_timeout=10) as conn:
        conn.read_only = True
        recorded = conn.execute("SELECT 1 FROM django_migrations WHERE app = %s AND name = %s", (app, name)).fetchone()
    if recorded is None:
        return False, f"migrate ran nothing but did not record {app}.{name} applied"
    return True, None


def _clean(copy: Project, url: str) -> tuple[bool, str | None]:
    code, output = _django(copy, url, "makemigrations", "--check", "--dry-run")
    if code == 0:
        return True, None
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return False, "; ".join(lines[:6]) or f"makemigrations exited with {code}"


def _django(copy: Project, url: str, *args: str) -> tuple[int, str]:
    """Run `python -m django ARGS` in the copy as the probe runs there; return its exit code and output."""
    with janitor.project_process(
        [copy.python, "-m", "django", *args],
        what=f"django-admin {args[0]}",
        cwd=copy.root,
        env=probe_env(copy, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        try:
            output, _ = process.communicate(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            watchdog.kill_group(process.pid)
            process.communicate()
            raise _Stop("failed", f"{args[0]} did not finish within {COMMAND_TIMEOUT_S:.0f} s") from None
        finally:
            watchdog.kill_group(process.pid)  # whatever it started goes with it
    return process.returncode, secrets.redact(output)


def _error_line(output: str) -> str | None:
    """The line that says why a management command stopped: its CommandError, else its last line."""
    for line in output.splitlines():
        if line.startswith("CommandError: "):
            return line[len("CommandError: ") :].strip()
    return _last_line(output)


def _last_line(output: str) -> str | None:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else None
