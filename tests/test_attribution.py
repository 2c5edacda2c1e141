"""Deferred SQL belongs to the operation that queued it, on real PostgreSQL and Django.

The schema editor runs the CREATE INDEX of an AddField (db_index=True, or a ForeignKey)
after the migration's last operation; its findings must point at the AddField, and an
approval of the AddField must cover them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import pg_dump, run_cli, scenario
from preflight.postgres.base import Server
from preflight.probe import runner

MIGRATION = "library/migrations/0002_book_isbn_author.py"
BOOKS = 20_000  # above thresholds.locking_rows: a plain CREATE INDEX on the table is an error


@pytest.fixture(scope="module")
def library_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production before 0002: 20,000 books."""
    tmp = tmp_path_factory.mktemp("library")
    project = scenario("deferred", tmp)
    database = pg.create_database("library")
    assert runner.run(project, "apply", pg.info.url(database), to=["library.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute("INSERT INTO library_author (name) SELECT 'author ' || i FROM generate_series(1, 100) i")
        conn.execute(f"INSERT INTO library_book (title) SELECT 'book ' || i FROM generate_series(1, {BOOKS}) i")
    dump = pg_dump(pg, database, tmp / "library.dump")
    pg.drop_database(database)
    return dump


def gate(project: Path, dump: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "gate",
        *("--project", str(project), "--settings", "proj.settings", "--target-dump", str(dump)),
        *("--postgres", "local", "--quiet", "--format", "json", *extra),
    )


def approve(project: Path, operation: str) -> None:
    """Put an inline approval of LK201 above the operation that starts with `operation`."""
    path = project / MIGRATION
    text = path.read_text()
    assert text.count(operation) == 1
    comment = "# preflight: approve LK201 -- built before the deploy, off hours"
    path.write_text(text.replace(operation, f"{comment}\n        {operation}"))


ISBN = 'migrations.AddField(\n            model_name="book",\n            name="isbn",'
AUTHOR = 'migrations.AddField(\n            model_name="book",\n            name="author",'
BIO = 'migrations.AddField(\n            model_name="author",'


def test_deferred_index_points_at_the_operation_that_queued_it(tmp_path: Path, library_dump: Path) -> None:
    project = scenario("deferred", tmp_path).root
    done = gate(project, library_dump)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    indexes = sorted(
        (f["statement"].split(" ON ")[0], f["operation"], f["line"], f["severity"])
        for f in report["findings"]
        if f["code"] == "LK201"
    )
    assert indexes == [
        ('CREATE INDEX "library_book_author_id_d9a3b67e"', "Add field author to book", 15, "error"),
        ('CREATE INDEX "library_book_isbn_0cd15ca6"', "Add field isbn to book", 10, "error"),
        ('CREATE INDEX "library_book_isbn_0cd15ca6_like"', "Add field isbn to book", 10, "error"),
    ]
    assert f"LK201 library.0002_book_isbn_author at {MIGRATION}:10" in done.stderr
    assert f"LK201 library.0002_book_isbn_author at {MIGRATION}:15" in done.stderr
    # On the copy too: the locks of the deferred CREATE INDEX belong to the AddField.
    (migration,) = [m for m in report["migrations"] if m["name"] == "0002_book_isbn_author"]
    index_statements = [s for s in migration["statements"] if s["sql"].startswith("CREATE INDEX")]
    assert sorted(s["operation"] for s in index_statements) == [0, 0, 1]


def test_approving_the_causing_operations_clears_the_gate(tmp_path: Path, library_dump: Path) -> None:
    project = scenario("deferred", tmp_path).root
    approve(project, ISBN)
    approve(project, AUTHOR)
    done = gate(project, library_dump)
    assert done.returncode == 0, done.stderr
    approved = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "LK201"]
    assert len(approved) == 3 and all(f["approval"]["source"] == "inline" for f in approved)


def test_approving_the_last_operation_does_not_cover_deferred_sql(tmp_path: Path, library_dump: Path) -> None:
    project = scenario("deferred", tmp_path).root
    approve(project, BIO)
    done = gate(project, library_dump)
    assert done.returncode == 1, done.stderr
    assert "blocked by 3 findings" in done.stderr
