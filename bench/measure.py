"""What bench/run.py measures: each comparison runs the Preflight under test and the bare
commands a careful team would run instead, side by side, on the same inputs.

The Preflight under test is a source tree (`Source`): it runs as `python -m preflight`
with that tree's `entrypoint` first on PYTHONPATH, through its command line only, so one
script measures any commit. The bare baselines run on the benchmark's own server.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from preflight.postgres.base import Server

# Runs in the project's interpreter: `sqlmigrate` for every pending migration in ONE Django
# process, what a team that wants the SQL without Preflight would write.
SQLMIGRATE_LOOP = """
import io, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
for migration, _ in plan:
    call_command("sqlmigrate", migration.app_label, migration.name, stdout=io.StringIO())
print(len(plan))
"""

# Runs with the source tree under test first on the path: start and stop a provider.
PROVIDER_START = """
import json, sys, time
from preflight import postgres
spec, repeat = sys.argv[1], int(sys.argv[2])
starts, stops = [], []
for _ in range(repeat):
    started = time.perf_counter()
    provider = postgres.start(spec)
    server = provider.__enter__()
    with server.connect() as conn:
        conn.execute("SELECT 1")
    starts.append(time.perf_counter() - started)
    started = time.perf_counter()
    provider.__exit__(None, None, None)
    stops.append(time.perf_counter() - started)
print(json.dumps({"starts": starts, "stops": stops}))
"""


class BenchError(Exception):
    """A command under measurement failed: the benchmark's numbers would mean nothing."""


@dataclass(frozen=True)
class Source:
    """A Preflight source tree to measure (its `entrypoint/` holds the package)."""

    root: Path
    python: str = sys.executable

    def env(self) -> dict[str, str]:
        path = [str(self.root / "entrypoint"), *filter(None, [os.environ.get("PYTHONPATH")])]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}

    def describe(self) -> str:
        def git(*args: str) -> str:
            result = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True)
            return result.stdout.strip()

        commit = git("rev-parse", "--short", "HEAD")
        if not commit:
            return f"{self.root} (not a git checkout)"
        dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", "entrypoint") else ""
        return f"{self.root} at {commit}{dirty}"


@dataclass
class Preview:
    """One `preflight preview` run: wall time and the phase timings of its JSON report."""

    wall: float
    timings: dict[str, float]
    pending: int

    def phase(self, name: str) -> float:
        return self.timings.get(name, 0.0)


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Run `command`, raise BenchError if it fails, return its wall time in seconds."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(command[:4])} ... exited {result.returncode}: " + " | ".join(tail))
    return elapsed


def preview(source: Source, project: Path, *extra: str) -> Preview:
    """Run `preflight preview --format json` of `project` with the source under test."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        report = Path(tmp) / "report.json"
        command = [source.python, "-m", "preflight", "preview", "--project", str(project), "--postgres", "local"]
        command += ["--format", "json", "--output", str(report), "--quiet", *extra]
        wall = run(command, env=source.env())
        data = json.loads(report.read_text())
    return Preview(wall, {k: float(v) for k, v in data["timings"].items()}, len(data["migrations"]))


# The project's settings with DATABASES pointed at DATABASE_URL, for the bare baselines
# (what Preflight's own override does for the preview), whatever the settings read.
BARE_SETTINGS = """
import os
from urllib.parse import unquote, urlsplit
from {settings} import *  # noqa: F403
_url = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql", "NAME": unquote(_url.path.lstrip("/")),
    "USER": unquote(_url.username or ""), "PASSWORD": unquote(_url.password or ""),
    "HOST": unquote(_url.hostname or ""), "PORT": str(_url.port or ""),
}}}}
"""


def settings_of(project: Path) -> str:
    """Return the settings module the project's manage.py sets."""
    match = re.search(r"DJANGO_SETTINGS_MODULE['\"],\s*['\"]([\w.]+)", (project / "manage.py").read_text())
    if not match:
        raise BenchError(f"{project / 'manage.py'} sets no DJANGO_SETTINGS_MODULE")
    return match.group(1)


def django_env(server: Server, database: str, project: Path) -> dict[str, str]:
    """Return the environment of a bare Django command of `project` on `database`."""
    wrapper = project / "bench_bare_settings.py"
    if not wrapper.exists():
        wrapper.write_text(BARE_SETTINGS.format(settings=settings_of(project)))
    url = server.info.url(database)
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench_bare_settings"}


def migrate(python: str, server: Server, database: str, project: Path) -> float:
    """Run bare `manage.py migrate` of `project` on `database`; return its wall time."""
    return run([python, "manage.py", "migrate", "--no-input"], env=django_env(server, database, project), cwd=project)


@dataclass
class Scale:
    """One history size: the preview's phases against the sqlmigrate loop and bare migrate."""

    migrations: int
    preview: Preview
    sqlmigrate_loop: float
    bare_migrate: float

    def per_migration(self, seconds: float) -> float:
        """Return milliseconds per migration."""
        return seconds / self.migrations * 1000


def scale(source: Source, server: Server, project: Path, python: str, n: int) -> Scale:
    """Preview `project` (n pending migrations) from an empty database; time the baselines."""
    result = preview(source, project)
    if result.pending != n:
        raise BenchError(f"the preview saw {result.pending} pending migrations, not {n}")
    database = server.create_database("loop")
    loop = run([python, "-c", SQLMIGRATE_LOOP], env=django_env(server, database, project), cwd=project)
    server.drop_database(database)
    database = server.create_database("migrate")
    bare = migrate(python, server, database, project)
    server.drop_database(database)
    return Scale(n, result, loop, bare)


@dataclass
class EndToEnd:
    """Preview of a dump against the bare pg_restore + migrate of the same dump."""

    dump: str
    size_mb: float
    preview: Preview
    restore: float
    migrate: float
    clone: float  # CREATE DATABASE ... TEMPLATE of the restored database: what a second copy costs

    @property
    def bare(self) -> float:
        return self.restore + self.migrate

    @property
    def ratio(self) -> float:
        return self.preview.wall / self.bare


def end_to_end(
    source: Source,
    server: Server,
    project: Path,
    python: str,
    dump: Path,
    size_mb: float,
    pg_restore: str,
) -> EndToEnd:
    """Preview `dump` (round trip on, the default) and run pg_restore + migrate on it bare."""
    result = preview(source, project, "--target-dump", str(dump))
    database = server.create_database("bare")
    restore = [pg_restore, "-j", str(os.cpu_count() or 1), "--no-owner", "--no-privileges", "-d", database, str(dump)]
    restored = run(restore, env={**os.environ, **server.info.client_env()})
    started = time.perf_counter()
    server.drop_database(server.create_database("clone", template=database))
    clone = time.perf_counter() - started
    bare = migrate(python, server, database, project)
    server.drop_database(database)
    return EndToEnd(dump.name, size_mb, result, restored, bare, clone)


@dataclass
class Capture:
    """The apply phase with lock/rewrite capture and with --no-capture (medians)."""

    dump: str
    repeat: int
    with_capture: list[float] = field(default_factory=list)
    without: list[float] = field(default_factory=list)

    @property
    def overhead(self) -> float:
        return statistics.median(self.with_capture) / statistics.median(self.without) - 1


def capture(source: Source, project: Path, dump: Path, repeat: int) -> Capture:
    """Preview `dump` with and without capture, alternating which goes first."""
    result = Capture(dump.name, repeat)
    for round_ in range(repeat):
        for on in (True, False) if round_ % 2 == 0 else (False, True):
            extra = ["--target-dump", str(dump), "--no-round-trip", *([] if on else ["--no-capture"])]
            apply = preview(source, project, *extra).phase("apply")
            (result.with_capture if on else result.without).append(apply)
    return result


@dataclass
class Provider:
    name: str
    starts: list[float]
    stops: list[float]


def provider(source: Source, spec: str, repeat: int) -> Provider:
    """Start and stop the provider `spec` of the source under test `repeat` times."""
    command = [source.python, "-c", PROVIDER_START, spec, str(repeat)]
    result = subprocess.run(command, env=source.env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"provider {spec} did not start: {result.stderr.strip().splitlines()[-1:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Provider(spec, data["starts"], data["stops"])
