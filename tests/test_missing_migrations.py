"""BR304 agrees with `manage.py makemigrations --check --dry-run --noinput`, on Django 4.2 and 5.2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import DJANGO_SERIES, PROJECTS, run_cli
from preflight.postgres.base import Server
from preflight.probe import runner
from preflight.project import Project


@dataclass
class Verdicts:
    django_exit: int
    django_apps: set[str]  # "Migrations for 'APP':" lines of makemigrations
    gate: subprocess.CompletedProcess[str]
    findings: list[dict[str, Any]]  # BR304 findings of the JSON report
    markdown: str


@pytest.fixture(params=DJANGO_SERIES)
def python(request: pytest.FixtureRequest, django_pythons: dict[str, str]) -> str:
    return django_pythons[request.param]


def verdicts(name: str, tmp_path: Path, python: str, pg: Server, root: str = ".") -> Verdicts:
    """Ask Django's makemigrations and Preflight's gate about a copy of tests/projects/NAME."""
    shutil.copytree(PROJECTS / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    project = Project(root=(tmp_path / name / root).resolve(), settings="proj.settings", python=python)
    # Settings pointed at the test server, so makemigrations' history check can connect.
    django = subprocess.run(
        [python, "manage.py", "makemigrations", "--check", "--dry-run", "--noinput"],
        cwd=project.root,
        env=runner.probe_env(project, pg.info.url("postgres")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = tmp_path / "report.json"
    gate = run_cli(
        "gate",
        "--project",
        str(project.root),
        "--python",
        python,
        "--postgres",
        "local",
        "--quiet",
        "--format",
        "markdown",
        "--json",
        str(report),
    )
    assert report.exists(), gate.stderr
    findings = [f for f in json.loads(report.read_text())["findings"] if f["code"] == "BR304"]
    return Verdicts(
        django.returncode,
        set(re.findall(r"^Migrations for '(\w+)':", django.stdout, re.M)),
        gate,
        findings,
        gate.stdout,
    )


def br304_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if "**BR304**" in line]


def test_translated_apps_are_not_missing_migrations(tmp_path: Path, python: str, pg: Server) -> None:
    root = tmp_path / "translated"
    found = verdicts("translated", tmp_path, python, pg)
    # The catalogs are live: under LANGUAGE_CODE "de" the models read differently from
    # their migrations (shelf's own .mo, and Django's for auth).
    shown = subprocess.run(
        [
            python,
            "-c",
            "import django; django.setup(); from shelf.models import Book; from django.contrib.auth.models import User;"
            "print(Book._meta.verbose_name, User._meta.verbose_name)",
        ],
        cwd=root,
        env=runner.probe_env(Project(root, "proj.settings", python), pg.info.url("postgres")),
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["Buch", "Benutzer"]
    assert (found.django_exit, found.django_apps) == (0, set())
    assert found.gate.returncode == 0, found.gate.stderr
    assert found.findings == [] and br304_lines(found.markdown) == []
    assert "BR304" not in found.gate.stderr


def test_a_missing_migration_blocks_where_makemigrations_fails(tmp_path: Path, python: str, pg: Server) -> None:
    found = verdicts("missing_migration", tmp_path, python, pg)
    assert (found.django_exit, found.django_apps) == (1, {"ledger"})
    assert found.gate.returncode == 1
    assert "blocked by 1 finding (--fail-on dangerous): BR304 ledger at ledger/models.py:4." in found.gate.stderr
    (finding,) = found.findings
    assert (finding["app"], finding["severity"], finding["file"], finding["line"]) == (
        "ledger",
        "error",
        "ledger/models.py",
        4,
    )
    assert finding["message"] == "app ledger has model changes without a migration: Add field memo to entry"
    assert finding["fix"] == "run python manage.py makemigrations ledger and commit the migration it writes"
    (line,) = br304_lines(found.markdown)
    assert "**BR304** missing-migrations · `ledger/models.py:4`<br>app ledger has model changes" in line


def test_an_installed_package_is_named_not_sent_to_makemigrations(tmp_path: Path, python: str, pg: Server) -> None:
    found = verdicts("outside_package", tmp_path, python, pg, root="site")
    assert (found.django_exit, found.django_apps) == (1, {"widgets"})
    assert found.gate.returncode == 1
    assert "blocked by 1 finding (--fail-on dangerous): BR304 widgets. Fix it" in found.gate.stderr
    (finding,) = found.findings
    assert (finding["app"], finding["file"], finding["line"]) == ("widgets", None, None)
    assert finding["message"] == (
        "installed package acme-widgets 1.4.0 (app widgets) does not match its own migrations: "
        "its models have changes that no migration of it makes: Add field color to widget"
    )
    assert "makemigrations" not in finding["fix"] and "install the release of acme-widgets" in finding["fix"]
    (line,) = br304_lines(found.markdown)
    assert "**BR304** missing-migrations · `widgets`<br>installed package acme-widgets 1.4.0" in line
    # No empty or escaped code spans: the finding has no file, and its text no backticks.
    assert "``" not in line and "\\`" not in line
