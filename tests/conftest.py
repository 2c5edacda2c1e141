"""Shared fixtures: one real throwaway PostgreSQL per session, real Django interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from preflight.postgres.base import Server
from preflight.postgres.local import LocalProvider
from preflight.project import Project

REPO = Path(__file__).resolve().parents[1]
PROJECTS = Path(__file__).resolve().parent / "projects"
EXAMPLE = REPO / "examples" / "shop"
DJANGO_SERIES = ("4.2", "5.2")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.md from this run")


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    """A local throwaway server shared by the session (the provider's reuse path)."""
    with LocalProvider() as server:
        yield server


@pytest.fixture(scope="session")
def django_pythons() -> dict[str, str]:
    """Interpreters with each supported Django LTS (scripts/django-envs.sh makes them)."""
    subprocess.run(["bash", str(REPO / "scripts" / "django-envs.sh")], check=True)
    return {series: str(REPO / ".ci" / ".cache" / f"django-{series}" / "bin" / "python") for series in DJANGO_SERIES}


@pytest.fixture(scope="session")
def site_pythons(django_pythons: dict[str, str]) -> dict[str, str]:
    """Interpreters of a site that installed Preflight to mount the route: each Django LTS and its dependencies."""
    return {series: str(REPO / ".ci" / ".cache" / f"site-{series}" / "bin" / "python") for series in DJANGO_SERIES}


@pytest.fixture
def tmpdir_env() -> Iterator[dict[str, str]]:
    """A TMPDIR of the test's own (reachable by the postgres OS user), to see what is left in it."""
    path = Path(tempfile.mkdtemp(prefix="pftest-tmp-", dir="/tmp"))
    path.chmod(0o711)
    yield {"TMPDIR": str(path)}
    shutil.rmtree(path, ignore_errors=True)


def copy_project(source: Path, tmp_path: Path) -> Path:
    destination = tmp_path / source.name
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    """A private copy of examples/shop run by this interpreter's Django."""
    return Project(root=copy_project(EXAMPLE, tmp_path), settings="shop.settings", python=sys.executable)


def pg_dump(server: Server, database: str, dest: Path) -> Path:
    """Dump a database of `server` with the real pg_dump -Fc."""
    from preflight.target import dump_database

    return dump_database(server, database, dest)


@pytest.fixture(scope="session")
def demo_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's production database with 3,000 order lines, as a pg_dump -Fc file."""
    from preflight.demo import seed_database
    from preflight.progress import QuietProgress

    tmp = tmp_path_factory.mktemp("demo-dump")
    project = Project(root=copy_project(EXAMPLE, tmp), settings="shop.settings", python=sys.executable)
    database = seed_database(pg, project, 3000, QuietProgress())
    dump = pg_dump(pg, database, tmp / "shop-production.dump")
    pg.drop_database(database)
    return dump


def scenario(name: str, tmp_path: Path, python: str | None = None) -> Project:
    return Project(
        root=copy_project(PROJECTS / name, tmp_path), settings="proj.settings", python=python or sys.executable
    )


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `preflight` command in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def leftovers(tmpdir: Path) -> list[str]:
    """Files and folders Preflight would have left in TMPDIR."""
    return sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("preflight"))
