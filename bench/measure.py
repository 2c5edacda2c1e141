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
from typing import Any

from preflight.postgres.base import Server

# Runs in the project's interpreter: `sqlmigrate` for pending migrations in ONE Django
# process, what a team that wants the SQL without Preflight would write. argv: step and
# offset of a systematic sample (1 and 0: every migration). Django's start and the plan are
# timed apart from the calls, so ms per call compares with the preview's SQL phase.
SQLMIGRATE_LOOP = """
import io, json, sys, time
started = time.perf_counter()
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
step, offset = int(sys.argv[1]), int(sys.argv[2])
ready = time.perf_counter()
calls = 0
for migration, _ in plan[offset::step]:
    call_command("sqlmigrate", migration.app_label, migration.name, stdout=io.StringIO())
    calls += 1
done = time.perf_counter()
print(json.dumps({"pending": len(plan), "calls": calls, "start": ready - started, "loop": done - ready}))
"""

# Runs in the project's interpreter: what `manage.py migrate` does (django.setup(), then the
# command with its system checks, which call_command skips unless told), with Django's
# start timed apart from the command's own work, which the preview's phases are measured
# against.
BARE_MIGRATE = """
import io, json, time
started = time.perf_counter()
import django
django.setup()
from django.core.management import call_command
ready = time.perf_counter()
call_command("migrate", interactive=False, skip_checks=False, stdout=io.StringIO())
print(json.dumps({"start": ready - started, "migrate": time.perf_counter() - ready}))
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

    def compile(self) -> None:
        """Compile the tree's modules once, as `pip install` does for an installed Preflight.

        Otherwise a run with PYTHONDONTWRITEBYTECODE set (as on the machine this was
        written on) compiles every module from source at each start: a cost no user of
        the installed package pays, and only the preview's side of a comparison would.
        """
        subprocess.run([self.python, "-m", "compileall", "-q", str(self.root / "entrypoint")], check=True)

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
    return run_output(command, env=env, cwd=cwd)[0]


def run_output(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, str]:
    """Run `command`, raise BenchError if it fails, return its wall time and standard output."""
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(command[:4])} ... exited {result.returncode}: " + " | ".join(tail))
    return elapsed, result.stdout


def last_json(stdout: str) -> dict[str, Any]:
    """Return the JSON object a benchmark script printed last (the project may print before it)."""
    data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return data


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


@dataclass(frozen=True)
class Sample:
    """Which pending migrations the sqlmigrate loop runs: every `step`-th from `offset`."""

    step: int = 1
    offset: int = 0

    def positions(self, pending: int) -> range:
        return range(self.offset, pending, self.step)


# Up to this many pending migrations the loop calls sqlmigrate on every one (--quick's sizes).
LOOP_ALL_UP_TO = 300


def loop_sample(pending: int, limit: int, all_up_to: int = LOOP_ALL_UP_TO) -> Sample:
    """Return a systematic sample of at most `limit` of `pending` migrations.

    All of them when `limit` is 0, or `pending` is at most `all_up_to` or `limit`. Else every
    k-th, from the middle of the first k: a `sqlmigrate` call costs more the later its
    migration (Django rebuilds the state up to it), so a systematic sample's mean cost is the
    whole loop's, which a prefix's would not be.
    """
    if limit <= 0 or pending <= max(limit, all_up_to):
        return Sample()
    step = -(-pending // limit)  # ceiling: at most `limit` calls
    return Sample(step, (step - 1) // 2)


@dataclass(frozen=True)
class Loop:
    """The sqlmigrate loop: Django's start and plan, then `calls` sqlmigrate calls of `pending`."""

    pending: int
    calls: int
    start: float
    loop: float
    wall: float

    @property
    def sampled(self) -> bool:
        return self.calls < self.pending

    @property
    def per_call(self) -> float:
        """Return seconds per sqlmigrate call (of the calls made)."""
        return self.loop / self.calls


@dataclass(frozen=True)
class Migrate:
    """Bare migrate in one process: its wall time, Django's start, and the command's own work."""

    wall: float
    start: float
    work: float


@dataclass
class Scale:
    """One history size: the preview's phases against the sqlmigrate loop and bare migrate."""

    history: str
    migrations: int
    preview: Preview
    sqlmigrate_loop: Loop | None  # None: not run for this history
    bare_migrate: Migrate

    def per_migration(self, seconds: float) -> float:
        """Return milliseconds per migration."""
        return seconds / self.migrations * 1000

    def relative(self, phase: str) -> float:
        """Return the preview phase's time over the migrate command's own work (both per migration)."""
        return self.preview.phase(phase) / self.bare_migrate.work

    @property
    def wall_relative(self) -> float:
        """Return the preview's wall time over the bare migrate process's (Django's start in both)."""
        return self.preview.wall / self.bare_migrate.wall


def sqlmigrate_loop(python: str, env: dict[str, str], project: Path, n: int, sample: Sample) -> Loop:
    """Run `sqlmigrate` for `sample` of `project`'s n pending migrations (all, or every k-th)."""
    command = [python, "-c", SQLMIGRATE_LOOP, str(sample.step), str(sample.offset)]
    wall, stdout = run_output(command, env=env, cwd=project)
    data = last_json(stdout)
    if data["pending"] != n or data["calls"] != len(sample.positions(n)):
        raise BenchError(f"the sqlmigrate loop saw {data['pending']} pending and made {data['calls']} calls")
    return Loop(n, data["calls"], data["start"], data["loop"], wall)


def bare_migrate(python: str, env: dict[str, str], project: Path) -> Migrate:
    """Run Django's migrate as `manage.py migrate` does, timing its start apart."""
    wall, stdout = run_output([python, "-c", BARE_MIGRATE], env=env, cwd=project)
    data = last_json(stdout)
    return Migrate(wall, data["start"], data["migrate"])


def scale(
    source: Source, server: Server, project: Path, python: str, n: int, *, history: str, loop_limit: int | None
) -> Scale:
    """Preview `project` (n pending migrations) from an empty database; time the baselines.

    `loop_limit`: above LOOP_ALL_UP_TO migrations, at most this many sqlmigrate calls (0: all);
    None: no sqlmigrate loop.
    """
    result = preview(source, project)
    if result.pending != n:
        raise BenchError(f"the preview saw {result.pending} pending migrations, not {n}")
    loop = None
    if loop_limit is not None:
        database = server.create_database("loop")
        sample = loop_sample(n, loop_limit)
        loop = sqlmigrate_loop(python, django_env(server, database, project), project, n, sample)
        server.drop_database(database)
    database = server.create_database("migrate")
    bare = bare_migrate(python, django_env(server, database, project), project)
    server.drop_database(database)
    return Scale(history, n, result, loop, bare)


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
