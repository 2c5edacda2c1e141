"""django-oauth-toolkit's 0012_add_token_checksum, shaped in a project of ours, on real PostgreSQL.

One atomic migration adds token_checksum NULL, turns the unique token into an unindexed
text column, fills the checksum in a RunPython, then makes it NOT NULL and unique; and
turns the unique code into a plain db_index. The target has 20,000 tokens at
tokens.0001_initial. Found by the accuracy run (docs/accuracy.md): the DROP INDEX of the
_like index was a false LK202, twice; the NOT NULL without a default and the dropped
unique constraint on token were missed.
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

TOKENS = 20_000
MIGRATION = "0002_add_token_checksum"


@pytest.fixture(scope="module")
def report(pg: Server, tmp_path_factory: pytest.TempPathFactory) -> Report:
    tmp = tmp_path_factory.mktemp("tokens")
    project = scenario("tokenswap", tmp)
    database = pg.create_database("tokens")
    assert runner.run(project, "apply", pg.info.url(database), to=["tokens.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(
            "INSERT INTO tokens_accesstoken (token, code) SELECT 'token-' || i, 'code-' || i "
            "FROM generate_series(1, %s) AS i",
            [TOKENS],
        )
    dump = pg_dump(pg, database, tmp / "tokens.dump")
    pg.drop_database(database)
    return preview(PreviewOptions(project=project, target_dump=dump, postgres="local"), QuietProgress())


def findings(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code and f.migration == MIGRATION]


def test_no_lock_queue_for_a_drop_under_a_lock_the_transaction_holds(report: Report) -> None:
    assert report.failure is None
    (migration,) = report.migrations
    # Django drops the _like index twice, after the ADD COLUMN has locked the table.
    assert migration.forwards_sql is not None
    assert migration.forwards_sql.count('DROP INDEX IF EXISTS "tokens_accesstoken_token_ac35eda2_like";') == 2
    assert findings(report, "LK202") == []
    assert "LK202" not in render.to_markdown(report)


def test_set_not_null_without_default_on_a_column_the_old_release_does_not_know(report: Report) -> None:
    (found,) = findings(report, "BR303")
    assert found.severity == "warning" and found.line == 16
    assert found.statement == 'ALTER TABLE "tokens_accesstoken" ALTER COLUMN "token_checksum" SET NOT NULL'
    assert found.message == (
        "tokens_accesstoken.token_checksum was added earlier in the plan and becomes NOT NULL without a database "
        "default: the running release does not know the column, so its inserts leave it NULL and fail until the "
        "new code is live"
    )


def test_dropped_unique_constraint_the_old_release_looks_tokens_up_by(report: Report) -> None:
    (found,) = findings(report, "BR308")  # not the _like index on token too, nor code (indexed again)
    assert found.severity == "warning" and found.line == 14
    assert found.statement == 'ALTER TABLE "tokens_accesstoken" DROP CONSTRAINT "tokens_accesstoken_token_key"'
    message = (
        "unique constraint tokens_accesstoken_token_key on tokens_accesstoken (token) is dropped (20,000 rows on "
        "the copy): the running release's queries that used it scan the table instead, and uniqueness is no "
        "longer enforced"
    )
    assert found.message == message
    markdown = render.to_markdown(report)
    assert "BR308" in markdown and "tokens_accesstoken_token_key" in markdown
