"""django-allauth's and django-celery-results' upgrades, shaped in a project of ours, on real PostgreSQL.

The target is at accounts.0001_initial with 2,000 users holding two primary addresses
each (UNIQUE (email) already there). Pending: 0002 drops, with IF EXISTS, an index 0001
put in the state only (celery-results 0010 after its FakeAddIndex); 0003 keeps one
primary address per user (RunPython); 0004 adds UNIQUE (user_id, email), a unique on
email WHERE verified and a unique on user_id WHERE primary (allauth account.0003 and
0009). Found by an independent run on the real packages: false LK202 and LK216 on the
drop, false BR307 on the two uniques the existing UNIQUE (email) covers, and no DD401 for
the partial unique index.
"""

from __future__ import annotations

import pytest

from conftest import pg_dump, scenario
from preflight.postgres.base import Server
from preflight.preview import PreviewOptions, preview
from preflight.probe import runner
from preflight.progress import QuietProgress
from preflight.report import render
from preflight.report.model import Report
from preflight.rules.base import Finding

USERS = 2_000


@pytest.fixture(scope="module")
def report(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Report:
    tmp = tmp_path_factory.mktemp("emails")
    project = scenario("emailuniq", tmp)
    database = pg.create_database("emails")
    assert runner.run(project, "apply", pg.info.url(database), to=["accounts.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(
            'INSERT INTO accounts_emailaddress (user_id, email, verified, "primary") '
            "SELECT i / 2, 'user' || i || '@example.com', i %% 3 = 0, true FROM generate_series(0, %s) AS i",
            [2 * USERS - 1],
        )
        conn.execute("INSERT INTO accounts_groupresult (group_id) SELECT 'group-' || i FROM generate_series(1, 100) i")
    dump = pg_dump(pg, database, tmp / "emails.dump")
    pg.drop_database(database)
    return preview(PreviewOptions(project=project, target_dump=dump, postgres="local"), QuietProgress())


def findings(report: Report, code: str, migration: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code and f.migration == migration]


def test_drop_index_if_exists_of_an_index_never_created_takes_no_lock(report: Report) -> None:
    assert report.failure is None
    drop = next(m for m in report.migrations if m.name == "0002_remove_duplicate_indices")
    assert drop.status == "applied" and drop.locks == []
    assert 'DROP INDEX IF EXISTS "accounts_gr_group_i_299b0d_idx"' in (drop.forwards_sql or "")
    assert findings(report, "LK202", drop.name) == []


def test_no_lock_timeout_finding_where_the_copy_measured_no_lock(report: Report) -> None:
    assert findings(report, "LK216", "0002_remove_duplicate_indices") == []
    assert [f.code for f in report.findings if "accounts_gr_group_i_299b0d_idx" in f.message] == []


def test_no_running_release_finding_for_uniques_the_existing_unique_covers(report: Report) -> None:
    (found,) = findings(report, "BR307", "0004_uniques")  # not unique_email, not unique_verified_email
    assert found.severity == "warning"
    assert found.statement == (
        'CREATE UNIQUE INDEX "unique_primary_email" ON "accounts_emailaddress" ("user_id") WHERE "primary"'
    )
    assert found.message == (
        "unique unique_primary_email on accounts_emailaddress(user_id) is new to the running release, which may "
        "still write duplicates: those inserts and updates fail until the new code is live"
    )


def test_partial_unique_index_counts_duplicates_within_its_where(report: Report) -> None:
    (found,) = findings(report, "DD401", "0004_uniques")
    assert found.severity == "info"
    assert found.statement == (
        'CREATE UNIQUE INDEX "unique_primary_email" ON "accounts_emailaddress" ("user_id") WHERE "primary"'
    )
    assert found.message == (
        'unique unique_primary_email on accounts_emailaddress(user_id) where "primary": the copy had 4,000 '
        "duplicate rows before the plan; an earlier pending migration removed them: the constraint applied on "
        "the copy"
    )
    assert found.message in render.to_markdown(report)
