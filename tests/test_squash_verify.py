"""`preflight squash-report --verify` on real projects, real PostgreSQL and Django's own squashmigrations.

What a user reads: each candidate squashed in a temporary copy, the schemas built from zero
equal (or each difference named), a database that applied the originals accepting the
squash, makemigrations clean, and the measured saving; squashmigrations' own line when it
refuses. The project itself is never touched and nothing is left behind.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import PROJECTS, REPO, copy_project, leftovers, run_cli
from preflight.postgres.base import Server
from preflight.probe.session import ProbeSession
from preflight.project import Project
from preflight.squash import render, schema
from preflight.squash.model import AppSquash, Candidate, SquashReport
from preflight.squash.verify import verify_candidate

EXAMPLE = REPO / "examples" / "squash"


def _tree(root: Path) -> dict[str, str]:
    """Every file and its content's digest, __pycache__ included: the project must stay byte for byte."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _verify(root: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    done = run_cli(
        "squash-report", "--project", str(root), "--postgres", "local", "--verify", "--format", "json", *extra, env=env
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_the_example_squash_builds_the_same_schema_and_saves_time(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    root = copy_project(EXAMPLE, tmp_path)
    before = _tree(root)
    report = _verify(root, tmpdir_env)
    assert _tree(root) == before  # squashed in a copy: not a file added, changed or compiled here
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []

    ledger, billing = report["verifications"]
    assert ledger["command"] == "python manage.py squashmigrations ledger 0039_entry_f38_idx"
    assert (ledger["status"], ledger["differences"], ledger["detail"]) == ("equal", [], None)
    assert ledger["squashed"] == "0001_squashed_0039_entry_f38_idx"
    assert (ledger["accepts"], ledger["clean"], ledger["proven"]) == (True, True, True)
    assert (ledger["migrations_before"], ledger["migrations_after"]) == (60, 22)  # the squash, then 0040..0060
    assert ledger["original_ms"] == _app(report, "ledger")["from_zero_ms"] > 0
    assert 0 < ledger["squashed_ms"] < ledger["original_ms"]
    assert ledger["saving_ms"] == pytest.approx(ledger["original_ms"] - ledger["squashed_ms"], abs=0.01)
    assert billing["app"] == "billing" and billing["status"] == "equal" and billing["proven"]
    assert report["timings"]["verify"] > 0

    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--verify", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "### Verified in a temporary copy" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| `ledger` | `0001_squashed_0039"))
    assert "| equal | accepts it (nothing run, squash recorded) | clean |" in row
    assert "(60) → " in row and "(22) |" in row
    assert _tree(root) == before


def _app(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(app for app in report["apps"] if app["app"] == name)


def test_a_squash_that_drops_schema_changes_names_each_difference(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    # shelf.0002's RunSQL create an index and a default but are marked elidable: the squash drops them.
    root = copy_project(PROJECTS / "squash_unequal", tmp_path)
    before = _tree(root)
    [shelf] = _verify(root, tmpdir_env)["verifications"]
    assert shelf["command"] == "python manage.py squashmigrations shelf 0003_item_size"
    assert shelf["status"] == "different" and not shelf["proven"]
    assert shelf["differences"] == [
        "column shelf_item.name: default 'unnamed'::character varying vs none",
        "index only in the original history: shelf_item_name_upper "
        "(CREATE INDEX shelf_item_name_upper ON public.shelf_item USING btree (upper((name)::text)))",
    ]
    # Django's replaces semantics hold all the same: the difference is what the squash lost.
    assert (shelf["accepts"], shelf["clean"]) == (True, True)
    assert _tree(root) == before
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []

    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--verify", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "| `shelf` | `0001_squashed_0003_item_size` | **2 differences** |" in done.stdout
    assert "- the squashed history builds a different schema (original vs squashed):" in done.stdout
    assert "  - `column shelf_item.name: default 'unnamed'::character varying vs none`" in done.stdout


@pytest.fixture
def books(pg: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """squash_done migrated from zero on the session's server, its catalog read, and a private TMPDIR."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    project = Project(
        root=copy_project(PROJECTS / "squash_done", tmp_path), settings="proj.settings", python=sys.executable
    )
    database = pg.create_database("squash_original")
    with ProbeSession(project, pg.info.url(database)) as probe:
        assert probe.apply(capture=False).failure is None
    yield project, database, schema.snapshot(pg.info.conninfo(database)), temp
    pg.drop_database(database)


@pytest.mark.parametrize(
    "start, end, line",
    [
        # The squash at books.0001 lies inside a range from the start.
        (
            None,
            "0005_book_year",
            "You cannot squash squashed migrations! Please transition it to a normal migration first: "
            "https://docs.djangoproject.com/en/5.2/topics/migrations/#squashing-migrations",
        ),
        # A start after the end.
        (
            "0005_book_year",
            "0004_book_pages",
            "The migration 'books.0005_book_year' cannot be found. Maybe it comes after the migration "
            "'books.0004_book_pages'?",
        ),
    ],
)
def test_a_range_squashmigrations_refuses_is_its_line(
    pg: Server, books: Any, start: str | None, end: str, line: str
) -> None:
    project, database, original, temp = books
    before, databases = _tree(project.root), list(pg.created)
    command = " ".join(["python manage.py squashmigrations books", *([start] if start else []), end])
    candidate = Candidate(app="books", start=start, end=end, migrations=2, from_zero_ms=1.0, command=command)
    app = AppSquash("books", 3, 2, "0001_squashed_0003_book_isbn", 3.0, 1.0, (), candidate)
    verification = verify_candidate(app, candidate, project, pg, database, original)

    assert (verification.status, verification.detail) == ("refused", line)
    assert verification.squashed is None and verification.accepts is None and verification.clean is None
    assert _tree(project.root) == before and pg.created == databases  # the copy and its database are gone
    assert leftovers(temp) == []

    report = SquashReport("squash_done", "5.2", (app,), 3.0, None, verifications=(verification,))
    markdown = render.to_markdown(report)
    assert "| `books` | – | **squashmigrations refused** | – | – |" in markdown
    assert f"`books`, `{command}`:\n\n- squashmigrations refused: " in markdown


def test_a_renamed_index_is_one_line_and_attributes_are_compared_one_by_one() -> None:
    original = schema.Snapshot(
        {
            ("index", "shop_item_f2_abc"): {"table": "shop_item", "definition": "CREATE INDEX shop_item_f2_abc ON x"},
            ("column", "shop_item.memo"): {"type": "character varying(490)", "nullability": "not null"},
            ("sequence", "shop_item_id_seq"): {"type": "bigint", "owned by": "shop_item.id"},
        }
    )
    squashed = schema.Snapshot(
        {
            ("index", "shop_item_f3_def"): {"table": "shop_item", "definition": "CREATE INDEX shop_item_f3_def ON x"},
            ("column", "shop_item.memo"): {"type": "character varying(480)", "nullability": "not null"},
        }
    )
    assert schema.diff(original, squashed) == (
        "column shop_item.memo: type character varying(490) vs character varying(480)",
        "index shop_item_f2_abc is named shop_item_f3_def in the squashed history (same definition)",
        "sequence only in the original history: shop_item_id_seq (bigint)",
    )
    assert schema.diff(original, original) == ()
