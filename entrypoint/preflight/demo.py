"""`preflight demo`: the whole preview on an embedded example, with no arguments.

Builds a "production" database from examples/shop at an older state, fills it with
generated rows, dumps it with pg_dump, and previews the newer migrations against that
dump through exactly the path a user's `preflight preview --target-dump` takes.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from preflight import janitor, postgres
from preflight.config import FILENAME, load
from preflight.disk import full_error, is_enospc
from preflight.errors import InfrastructureError
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview
from preflight.probe.session import ProbeSession
from preflight.progress import Progress
from preflight.project import Project
from preflight.report.model import Report
from preflight.target import dump_database
from preflight.verdict import default_fail_on


def example_dir() -> Path:
    """Return examples/shop: inside the wheel, or at the source checkout's top."""
    packaged = Path(__file__).resolve().parent / "examples" / "shop"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "examples" / "shop"


@dataclass
class DemoOptions:
    postgres: str = "auto"
    pg_bin: str | None = None
    pg_user: str | None = None
    lines: int | None = None  # rows in the biggest table; demo.yml's default when None
    save_dump: Path | None = None  # keep the production dump (to try `preflight gate` on it)


def seed_database(server: Server, project: Project, lines: int | None, progress: Progress) -> str:
    """Create a database at the example's baseline, fill it with rows, return its name."""
    config = yaml.safe_load((project.root / "demo" / "demo.yml").read_text())
    lines = lines or int(config["lines"])
    seed = (project.root / "demo" / config["seed"]).read_text()
    database = server.create_database("production")
    with (
        progress.step("migrating the demo production database to its baseline"),
        ProbeSession(project, server.info.url(database)) as probe,
    ):
        result = probe.apply(to=list(config["baseline"]))
    if result.failure is not None:
        raise InfrastructureError(f"the demo baseline failed: {result.failure.error}")
    with progress.step(f"generating {lines:,} order lines"), server.connect(database) as conn:
        conn.execute("SELECT set_config('preflight.demo_lines', %s, false)", (str(lines),))
        conn.execute(seed.encode())
    return database


def build_production(project: Project, dump: Path, options: DemoOptions, progress: Progress) -> None:
    """Create the demo's production database on its own server and dump it to `dump`."""
    with postgres.start(options.postgres, pg_bin=options.pg_bin, pg_user=options.pg_user) as server:
        database = seed_database(server, project, options.lines, progress)
        with progress.step("pg_dump -Fc of the demo production database"):
            dump_database(server, database, dump, options.pg_bin)


def run(options: DemoOptions, progress: Progress) -> Report:
    """Build the demo production dump and preview the example's pending migrations."""
    with janitor.temp_dir("demo") as tmp:
        root = tmp / "shop"
        shutil.copytree(example_dir(), root, ignore=shutil.ignore_patterns("__pycache__"))
        project = Project(root=root, settings="shop.settings", python=sys.executable)
        dump = tmp / "shop-production.dump"
        build_production(project, dump, options, progress)
        if options.save_dump:
            try:
                shutil.copyfile(dump, options.save_dump)
            except OSError as exc:
                if is_enospc(exc):
                    raise full_error(f"saving the dump to {options.save_dump}", options.save_dump.parent) from None
                raise
        config = load(root / FILENAME)  # the example's own policy decides what the gate would block
        return preview(
            PreviewOptions(
                project=project,
                target_dump=dump,
                postgres=options.postgres,
                pg_bin=options.pg_bin,
                pg_user=options.pg_user,
                config=config,
                fail_on=default_fail_on(config, gate=True),
                probe_concurrency=True,  # show what a second session waited, not only how long locks were held
            ),
            progress,
        )
