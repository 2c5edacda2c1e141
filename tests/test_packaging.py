"""The wheel ships the templates, the probe and the example the demo needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_wheel_contains_templates_probe_and_example(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = tmp_path.glob("preflight-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"preflight/templates/{p.relative_to(REPO / 'templates')}" for p in (REPO / "templates").rglob("*.j2")}
    assert templates and templates <= names
    assert {
        "preflight/probe/session.py",
        "preflight/probe/site/_preflight_probe/__init__.py",
        "preflight/probe/site/_preflight_probe/__main__.py",
        "preflight/probe/site/_preflight_probe/session.py",
        "preflight/probe/site/_preflight_probe/settings.py",
        "preflight/probe/site/_preflight_probe/sql.py",
        "preflight/probe/site/_preflight_probe/apply.py",
        "preflight/cli.py",
        "preflight/django/apps.py",
        "preflight/django/urls.py",
        "preflight/django/migrations/0001_initial.py",
        "preflight/django/management/commands/preflight_migrate.py",
        "preflight/examples/shop/manage.py",
        "preflight/examples/shop/demo/demo.yml",
        "preflight/examples/shop/demo/seed.sql",
        "preflight/examples/shop/orders/migrations/0013_rename_total_order_grand_total.py",
    } <= names
    assert not [n for n in names if "__pycache__" in n]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "preflight = preflight.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
