"""Baseline from git: migrate an empty database with the base code, preview the rest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE
from preflight.errors import UsageError
from preflight.preview import PreviewOptions, preview
from preflight.progress import QuietProgress
from preflight.project import Project

NEW = ["orders/migrations/0012_remove_order_notes.py", "orders/migrations/0013_rename_total_order_grand_total.py"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo whose HEAD~1 lacks orders 0012/0013 (and the model change) and HEAD adds them."""
    repo = tmp_path / "repo"
    project = repo / "services" / "shop"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    new_files = {name: (project / name).read_text() for name in NEW}
    models = (project / "orders" / "models.py").read_text()
    for name in NEW:
        (project / name).unlink()
    (project / "orders" / "models.py").write_text(
        models.replace("grand_total =", "total =").replace(
            "    total = models", '    notes = models.TextField(blank=True, default="")\n    total = models'
        )
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    for name, text in new_files.items():
        (project / name).write_text(text)
    (project / "orders" / "models.py").write_text(models)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "head")
    return project


def test_pending_is_what_head_adds(repo: Path) -> None:
    project = Project(root=repo, settings="shop.settings", python=sys.executable)
    report = preview(PreviewOptions(project=project, base_ref="HEAD~1", postgres="local"), QuietProgress())
    assert [m.label for m in report.migrations] == [
        "orders.0012_remove_order_notes",
        "orders.0013_rename_total_order_grand_total",
    ]
    assert all(m.status == "applied" for m in report.migrations)
    assert report.target.source == "baseline" and report.target.description == "HEAD~1"
    assert [r.command for r in report.rollback] == ["python manage.py migrate orders 0011_orderline_product_order_idx"]
    worktrees = _git(repo, "worktree", "list").strip().splitlines()
    assert len(worktrees) == 1, worktrees


def test_unknown_ref_says_to_fetch(repo: Path) -> None:
    project = Project(root=repo, settings="shop.settings", python=sys.executable)
    with pytest.raises(UsageError, match=r"origin/nope is not a commit.*fetch"):
        preview(PreviewOptions(project=project, base_ref="origin/nope", postgres="local"), QuietProgress())


def test_without_any_target_everything_is_pending(tmp_path: Path) -> None:
    project = Project(root=tmp_path / "shop", settings="shop.settings", python=sys.executable)
    shutil.copytree(EXAMPLE, project.root, ignore=shutil.ignore_patterns("__pycache__"))
    report = preview(PreviewOptions(project=project, postgres="local"), QuietProgress())
    assert report.target.source == "empty"
    assert sum(1 for m in report.migrations if m.app in {"catalog", "customers", "orders"}) == 34
    assert report.count("applied") == len(report.migrations)
