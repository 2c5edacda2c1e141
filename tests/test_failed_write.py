"""A data migration whose UPDATE breaks a unique constraint the table already has.

Found on django-allauth 0.54 -> 65.3 (0006 lower-cases e-mails under the unique
constraint 0003 made): DD403 said "failed on the copy: share a value, so the unique
constraint cannot be created", with no subject and about a constraint nobody was
creating; and PostgreSQL's DETAIL, which quotes the colliding e-mail, reached the report.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import pg_dump, run_cli, scenario
from preflight.postgres.base import Server
from preflight.probe import runner

COLLIDING = "Mixed.Case.Person@example.com"


def test_update_that_collides_with_an_existing_unique_is_named_and_its_rows_are_not_quoted(
    pg: Server, tmp_path: Path
) -> None:
    project = scenario("collide", tmp_path / "project")
    database = pg.create_database("collide")
    assert runner.run(project, "apply", pg.info.url(database), to=["people.0001_initial"])["failure"] is None
    with pg.connect(database) as conn:
        conn.execute(
            "INSERT INTO people_person (email) SELECT 'user' || i || '@example.com' FROM generate_series(1, 500) AS i"
        )
        conn.execute("INSERT INTO people_person (email) VALUES (%s), (%s)", [COLLIDING, COLLIDING.lower()])
    dump = pg_dump(pg, database, tmp_path / "collide.dump")
    pg.drop_database(database)

    report_md, report_json = tmp_path / "report.md", tmp_path / "report.json"
    done = run_cli(
        "gate", "--project", str(project.root), "--target-dump", str(dump), "--quiet",
        "--output", str(report_md), "--json", str(report_json),
    )  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    document = json.loads(report_json.read_text())
    (finding,) = [f for f in document["findings"] if f["code"] == "DD403"]
    assert finding["severity"] == "error"
    assert finding["migration"] == "0002_lowercase_emails"
    assert finding["message"] == (
        "failed on the copy (people_person_email_key): its UPDATE writes a value another row already holds, "
        "which the unique constraint rejects"
    )
    assert "Key (email)=(…) already exists" in document["failure"]["error"]
    everything = report_md.read_text() + report_json.read_text() + done.stdout + done.stderr
    assert COLLIDING.lower() not in everything.lower()
