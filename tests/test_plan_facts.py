"""Facts as they will be right before each statement (issue 9, item 3), on real PostgreSQL.

The crm project adds a column, fills it in a data migration, then makes it NOT NULL; and
removes duplicate e-mails in a data migration before making the e-mail unique. The
target has 20,000 contacts at crm.0001_initial, 5,000 of them sharing an e-mail.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import pg_dump, scenario
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.project import Project
from preflight.report import render
from preflight.report.model import Report
from preflight.rules.base import Finding

CONTACTS = 20_000
SHARED = 5_000  # contacts whose e-mail an earlier contact already has


@pytest.fixture(scope="module")
def crm_dump(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crm target: crm.0001_initial applied, 20,000 contacts, 10,000 rows in duplicate pairs."""
    tmp = tmp_path_factory.mktemp("crm")
    project = scenario("planfacts", tmp)
    database = pg.create_database("crm")
    assert runner.run(project, "apply", pg.info.url(database), to=["crm.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(
            "INSERT INTO crm_contact (email, name) SELECT 'user' || (i %% %s) || '@example.com', 'n' || i "
            "FROM generate_series(1, %s) AS i",
            [CONTACTS - SHARED, CONTACTS],
        )
    dump = pg_dump(pg, database, tmp / "crm.dump")
    pg.drop_database(database)
    return dump


@pytest.fixture(scope="module")
def report(crm_dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    project = scenario("planfacts", tmp_path_factory.mktemp("crm-project"))
    return preview(PreviewOptions(project=project, target_dump=crm_dump, postgres="local"), QuietProgress())


def finding(report: Report, code: str, migration: str) -> Finding:
    (found,) = [f for f in report.findings if f.code == code and f.migration == migration]
    return found


def test_set_not_null_on_a_column_the_plan_added_scans_the_rows(report: Report) -> None:
    assert report.failure is None
    scan = finding(report, "LK206", "0004_alter_contact_tier")
    assert scan.severity == "warning" and scan.line == 7
    assert scan.statement == 'ALTER TABLE "crm_contact" ALTER COLUMN "tier" SET NOT NULL'
    assert scan.message == (
        "SET NOT NULL on crm_contact.tier scans every row while blocking reads and writes (20,000 rows on the copy) "
        "(the column was added earlier in the plan, but the table's rows are not new)"
    )


def test_the_copy_overrules_data_predictions_the_earlier_migrations_made_false(report: Report) -> None:
    unique = finding(report, "DD401", "0006_alter_contact_email")
    assert unique.severity == "info" and unique.line == 7
    assert unique.statement is not None and unique.statement.endswith('UNIQUE ("email")')
    assert unique.message == (
        f"unique {unique.facts['constraint']} on crm_contact(email): the copy had {2 * SHARED:,} duplicate rows "
        "before the plan; an earlier pending migration removed them: the constraint applied on the copy"
    )
    nulls = finding(report, "DD402", "0004_alter_contact_tier")
    assert nulls.severity == "info" and nulls.line == 7
    assert nulls.message == (
        "SET NOT NULL on crm_contact.tier: all 20,000 rows were NULL after ADD COLUMN; an earlier pending "
        "migration filled them: it applied on the copy"
    )
    assert not [f for f in report.findings if f.category == "data-dependent" and f.severity != "info"]


def _showmigrations(project: Project, url: str) -> str:
    done = subprocess.run(
        [project.python, "manage.py", "showmigrations", "books"],
        cwd=project.root,
        capture_output=True,
        text=True,
        env=runner.probe_env(project, url),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("squash_recorded", [False, True], ids=["before-the-squash", "migrated-with-the-squash"])
def test_migrations_a_squash_replaces_are_not_history_the_code_lacks(
    pg: Server, tmp_path: Path, squash_recorded: bool
) -> None:
    """The target applied books.0001-0003; the code has their squash (the originals deleted) and 0004."""
    project = scenario("squashed", tmp_path)
    database = pg.create_database("books")
    url = pg.info.url(database)
    # Applying the squash records the three migrations it replaces, then the squash itself.
    assert runner.run(project, "apply", url, to=["books.0001_squashed_0003_book_isbn"])["failure"] is None
    with pg.connect(database) as conn:
        if not squash_recorded:  # a database migrated before the squash existed: only the originals
            conn.execute("DELETE FROM django_migrations WHERE name = '0001_squashed_0003_book_isbn'")
        recorded = [row[0] for row in conn.execute("SELECT name FROM django_migrations WHERE app = 'books'")]
    assert {"0001_initial", "0002_book_title", "0003_book_isbn"} <= set(recorded)
    # Django counts the squash as applied ([-]: applied, its own row not yet written) and 0004 as pending.
    shown = re.findall(r"^ \[(.)\] (\S+)", _showmigrations(project, url), re.M)
    assert shown == [("X" if squash_recorded else "-", "0001_squashed_0003_book_isbn"), (" ", "0004_book_pages")]
    plan = runner.run(project, "plan", url)
    assert [m["name"] for m in plan["pending"]] == ["0004_book_pages"]
    assert plan["health"] == {"applied_not_in_code": [], "partially_applied_squashes": {}}
    dump = pg_dump(pg, database, tmp_path / "books.dump")
    pg.drop_database(database)
    report = preview(PreviewOptions(project=project, target_dump=dump, postgres="local"), QuietProgress())
    assert [f.message for f in report.findings if f.code == "RV603"] == []


def test_backwards_sql_is_asked_where_the_reverse_runs(report: Report) -> None:
    """Before the plan, the constraints 0006 and 0007 add are not there to drop: sqlmigrate --backwards
    leaves 0006's drop out and fails on 0007 (which the report called irreversible)."""
    by_name = {m.name: m for m in report.migrations}
    email, together = by_name["0006_alter_contact_email"], by_name["0007_alter_contact_unique_together"]
    constraint = finding(report, "DD401", email.name).facts["constraint"]
    assert f'ALTER TABLE "crm_contact" DROP CONSTRAINT "{constraint}";' in (email.backwards_sql or "")
    assert together.backwards_error is None
    assert 'ALTER TABLE "crm_contact" DROP CONSTRAINT "crm_contact_name_tier_' in (together.backwards_sql or "")
    assert report.round_trip is not None and report.round_trip.backward.status == "ok"
    assert all(m.backwards_after_forwards and m.backwards_error is None for m in report.migrations)
    assert report.irreversible == [] and [r.command for r in report.rollback] == [
        "python manage.py migrate crm 0001_initial"
    ]
    markdown = render.to_markdown(report)
    assert "Backwards (`sqlmigrate --backwards`, where the round trip took it back):" in markdown
    assert "cannot be migrated back" not in markdown


def test_without_a_round_trip_a_backwards_error_before_the_plan_is_not_irreversible(
    crm_dump: Path, tmp_path: Path
) -> None:
    project = scenario("planfacts", tmp_path)
    options = PreviewOptions(project=project, target_dump=crm_dump, postgres="local", round_trip=False)
    report = preview(options, QuietProgress())
    assert report.irreversible == []
    together = next(m for m in report.migrations if m.name == "0007_alter_contact_unique_together")
    assert together.backwards_error is not None and together.backwards_error.startswith("ValueError: Found wrong")
    assert not together.backwards_after_forwards
    markdown = render.to_markdown(report)
    assert (
        "Backwards: `sqlmigrate --backwards` fails before the plan, as the forwards have not run yet (ValueError"
        in (markdown)
    )
    assert "cannot be migrated back" not in markdown
