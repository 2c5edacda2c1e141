"""`preflight squash-report` on real projects, real PostgreSQL and Django's own squashmigrations.

What a user reads: the ranked candidates with their exact commands, each blocker with its
file and line, the replaced files that can go once the target applied them; and that the
commands the report gives are ones Django accepts, where the range it refused would not
have loaded.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import PROJECTS, REPO, copy_project, leftovers, pg_dump, run_cli
from preflight.postgres.base import Server
from preflight.probe.session import ProbeSession, probe_env
from preflight.project import Project

EXAMPLE = REPO / "examples" / "squash"


def _report(root: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--format", "json", *extra, env=env)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _app(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(app for app in report["apps"] if app["app"] == name)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_example_ranks_the_long_history_first(tmp_path: Path) -> None:
    root = copy_project(EXAMPLE, tmp_path)
    before = _tree(root)
    report = _report(root)
    assert _tree(root) == before  # the project is only read

    ledger, billing = report["apps"]
    assert (ledger["app"], billing["app"]) == ("ledger", "billing")
    assert ledger["migrations"] == 60 and ledger["since_squash"] == 60 and ledger["last_squash"] is None
    assert report["total_ms"] > 0 and ledger["from_zero_ms"] > billing["from_zero_ms"] > 0
    assert abs(ledger["share"] + billing["share"] - 1.0) < 0.01

    candidate = ledger["candidate"]
    assert candidate["command"] == "python manage.py squashmigrations ledger 0039_entry_f38_idx"
    assert (candidate["start"], candidate["end"], candidate["migrations"]) == (None, "0039_entry_f38_idx", 39)
    stop = candidate["stops_at"]
    assert (stop["kind"], stop["migration"], stop["file"], stop["line"]) == (
        "not_elidable",
        "ledger.0040_default_account",
        "ledger/migrations/0040_default_account.py",
        12,
    )
    # The elidable backfill at 0010 blocks nothing; billing's edge into 0020 is named, not a stop.
    kinds = [(b["kind"], b["migration"], b["file"], b["line"], b["limits"]) for b in ledger["blockers"]]
    assert kinds == [
        ("not_elidable", "ledger.0040_default_account", "ledger/migrations/0040_default_account.py", 12, True),
        ("cross_app", "billing.0001_initial", "billing/migrations/0001_initial.py", 7, False),
    ]
    assert billing["candidate"]["command"] == "python manage.py squashmigrations billing 0002_invoice_paid"

    markdown = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--quiet")
    assert markdown.returncode == 0, markdown.stderr
    assert "```sh\npython manage.py squashmigrations ledger 0039_entry_f38_idx\n" in markdown.stdout
    assert "| 1 | `ledger` | the first → `0039_entry_f38_idx` | 39 |" in markdown.stdout
    assert "`ledger/migrations/0040_default_account.py`, line 12" in markdown.stdout


def _manage(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Django's own manage.py command in `root`, its settings pointed at `url` (as Preflight points them)."""
    project = Project(root=root, settings="proj.settings", python=sys.executable)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=root, capture_output=True, text=True, env=probe_env(project, url)
    )


def test_a_range_whose_squash_closes_a_circle_stops_before_it(pg: Server, tmp_path: Path) -> None:
    root = copy_project(PROJECTS / "squash_cycle", tmp_path)
    a = _app(_report(root), "a")
    candidate = a["candidate"]
    assert candidate["command"] == "python manage.py squashmigrations a 0002_a_x"
    stop = candidate["stops_at"]
    assert (stop["kind"], stop["migration"], stop["file"], stop["line"]) == (
        "cycle",
        "a.0003_a_b",
        "a/migrations/0003_a_b.py",
        6,
    )
    assert stop["edges"] == [["a.0003_a_b", "b.0001_initial"], ["b.0001_initial", "a.0001_initial"]]

    # Django agrees: the whole history squashed does not load, the report's range does.
    url = pg.info.url(pg.create_database("squash_cycle"))
    whole = copy_project(PROJECTS / "squash_cycle", tmp_path / "whole")
    assert _manage(whole, url, "squashmigrations", "a", "0004_a_y", "--noinput").returncode == 0
    refused = _manage(whole, url, "makemigrations", "--check", "--dry-run")
    assert refused.returncode != 0 and "CircularDependencyError" in refused.stderr
    assert _manage(root, url, "squashmigrations", "a", "0002_a_x", "--noinput").returncode == 0
    accepted = _manage(root, url, "makemigrations", "--check", "--dry-run")
    assert accepted.returncode == 0, accepted.stderr
    assert _manage(root, url, "migrate").returncode == 0


def _migrated_target(pg: Server, project: Project) -> str:
    database = pg.create_database("squash_target")
    with ProbeSession(project, pg.info.url(database)) as probe:
        assert probe.apply(capture=False).failure is None
    return pg.info.url(database)


def test_replaced_files_can_go_once_the_target_applied_them(pg: Server, tmp_path: Path) -> None:
    root = copy_project(PROJECTS / "squash_done", tmp_path)
    project = Project(root=root, settings="proj.settings", python=sys.executable)
    without = _app(_report(root), "books")
    assert without["deletable"] == []
    assert without["replaced_files"] == [
        "books/migrations/0001_initial.py",
        "books/migrations/0002_book_title.py",
        "books/migrations/0003_book_isbn.py",
    ]

    books = _app(_report(root, "--target-url", _migrated_target(pg, project)), "books")
    assert books["last_squash"] == "0001_squashed_0003_book_isbn" and books["since_squash"] == 2
    assert books["candidate"]["command"] == "python manage.py squashmigrations books 0004_book_pages 0005_book_year"
    assert [(b["kind"], b["migration"]) for b in books["blockers"]] == [
        ("squashed", "books.0001_squashed_0003_book_isbn")
    ]
    [deletable] = books["deletable"]
    assert deletable["squash"] == "books.0001_squashed_0003_book_isbn"
    assert deletable["files"] == without["replaced_files"]
    assert deletable["dependents"] == ["shelves.0001_initial"]  # it names books.0002_book_title
    assert deletable["steps"] == [
        "delete the 3 files books.0001_squashed_0003_book_isbn replaces",
        "in shelves.0001_initial, depend on books.0001_squashed_0003_book_isbn instead of the deleted ones",
        "remove the replaces list from books.0001_squashed_0003_book_isbn: it is a normal migration from now on",
    ]


def test_a_target_dump_tells_the_same_as_its_database(pg: Server, tmp_path: Path) -> None:
    root = copy_project(PROJECTS / "squash_done", tmp_path)
    project = Project(root=root, settings="proj.settings", python=sys.executable)
    url = _migrated_target(pg, project)
    dump = pg_dump(pg, url.rsplit("/", 1)[1], tmp_path / "target.dump")
    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--target-dump", str(dump))
    assert done.returncode == 0, done.stderr
    assert "The migrations `books.0001_squashed_0003_book_isbn` replaces are applied on the target" in done.stdout
    assert "3. remove the replaces list from books.0001_squashed_0003_book_isbn: it is a normal" in done.stdout


def test_apps_without_migrations_are_listed_not_ranked(tmp_path: Path) -> None:
    root = copy_project(PROJECTS / "squash_done", tmp_path)
    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "Apps without migrations (nothing to squash): `notes`." in done.stdout
    assert "`notes` |" not in done.stdout


def test_conflicting_leaves_are_one_line_and_exit_3(tmp_path: Path, tmpdir_env: dict[str, str]) -> None:
    root = copy_project(PROJECTS / "conflict", tmp_path)
    done = run_cli("squash-report", "--project", str(root), "--postgres", "local", env=tmpdir_env)
    assert done.returncode == 3, done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("preflight: error:")]
    assert "conflicting migrations: notes has leaves 0002_note_body, 0002_note_pinned" in line
    assert leftovers(Path(tmpdir_env["TMPDIR"])) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--project", "/nonexistent"], "--project /nonexistent is not a directory"),
        (["--target-dump", "/nonexistent.dump"], "--target-dump /nonexistent.dump does not exist"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    done = run_cli("squash-report", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_squash_that_would_name_an_undefined_setting_stops_before_it(pg: Server, tmp_path: Path) -> None:
    """A relation to a swappable model whose setting the project does not define (django-oauth-toolkit's
    models are such): the squash writes settings.NAME, and the squashed migration does not import."""
    root = copy_project(PROJECTS / "squash_swappable", tmp_path)
    vault = _app(_report(root), "vault")
    assert vault["candidate"]["command"] == "python manage.py squashmigrations vault 0003_key"
    stop = vault["candidate"]["stops_at"]
    assert (stop["kind"], stop["migration"], stop["file"], stop["line"]) == (
        "undefined_setting",
        "vault.0004_lock",
        "vault/migrations/0004_lock.py",
        8,
    )
    assert "settings.VAULT_KEY_MODEL" in stop["detail"]

    url = pg.info.url(pg.create_database("squash_swappable"))
    whole = copy_project(PROJECTS / "squash_swappable", tmp_path / "whole")
    assert _manage(whole, url, "squashmigrations", "vault", "0004_lock", "--noinput").returncode == 0
    broken = _manage(whole, url, "migrate")
    assert broken.returncode != 0 and "VAULT_KEY_MODEL" in broken.stderr
    assert _manage(root, url, "squashmigrations", "vault", "0003_key", "--noinput").returncode == 0
    assert _manage(root, url, "migrate").returncode == 0
    assert _manage(root, url, "makemigrations", "--check", "--dry-run").returncode == 0


def test_the_command_quotes_names_the_shell_would_split() -> None:
    from preflight.squash.analyse import _command

    assert _command("shop", None, "0002_x") == "python manage.py squashmigrations shop 0002_x"
    assert _command("shop", "0001_a b", "0002_$(rm)") == (
        "python manage.py squashmigrations shop '0001_a b' '0002_$(rm)'"
    )
