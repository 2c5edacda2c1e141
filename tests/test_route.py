"""The route's permission matrix on real PostgreSQL, through Django's test client in a real site.

tests/route_cases.py runs every case inside tests/projects/route_site (in a child
process: Django is never set up in pytest's own) and prints what each answered; the
audit log it wrote is read here. Each case came from its own client address, which is
how its audit record is found.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any

import pytest

from conftest import DJANGO_SERIES, PROJECTS, REPO, copy_project
from preflight.postgres.base import Server

TOKEN = "route-test-token-7f3a9c1e5b2d4f60"
NOTE = "notes.0002_note_pinned"
NOT_AUTHENTICATED = (
    "not authenticated: log in as a staff user with the preflight.apply_migrations permission, "
    "or send Authorization: Bearer <token>"
)


@pytest.fixture(scope="module", params=DJANGO_SERIES)
def matrix(
    request: pytest.FixtureRequest, pg: Server, site_pythons: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Run every case once per Django LTS; return the answers, the audit records and all output."""
    tmp = tmp_path_factory.mktemp("route")
    site = copy_project(PROJECTS / "route_site", tmp)
    database = pg.create_database("route")
    audit = tmp / "audit" / "preflight-audit.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "entrypoint"), str(site)]),
        "DJANGO_SETTINGS_MODULE": "proj.settings",
        "DATABASE_URL": pg.info.url(database),
        "PREFLIGHT_AUDIT_LOG": str(audit),
        "ROUTE_TOKEN": TOKEN,
        "ROUTE_TOKEN_SHA256": hashlib.sha256(TOKEN.encode()).hexdigest(),
    }
    try:
        run = subprocess.run(
            [site_pythons[request.param], str(REPO / "tests" / "route_cases.py")],
            cwd=site,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        pg.drop_database(database)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = audit.read_text().splitlines()
    return {
        "cases": json.loads(run.stdout),
        "audit": [json.loads(line) for line in lines],
        "raw": run.stdout + run.stderr + audit.read_text(),
        "password": pg.info.password,
    }


def records(matrix: dict[str, Any], ip: str) -> list[dict[str, Any]]:
    return [record for record in matrix["audit"] if record["origin"] == ip]


REFUSALS = [
    # case, client address, status, who, the reason (answered and audited)
    ("anonymous", "10.0.0.1", 401, "anonymous", NOT_AUTHENTICATED),
    ("inactive", "10.0.0.2", 403, "inactive", "user is inactive"),
    ("non_staff", "10.0.0.3", 403, "plain", "user is not staff"),
    ("staff_without_permission", "10.0.0.4", 403, "staffer", "user lacks the preflight.apply_migrations permission"),
    ("get_instead_of_post", "10.0.0.5", 405, "deployer", "GET does not apply migrations: POST to this URL"),
    ("missing_csrf", "10.0.0.6", 403, "deployer", "CSRF check failed: CSRF cookie not set"),
    ("wrong_token", "10.0.0.8", 401, "bearer token (wrong)", "wrong bearer token"),
]


@pytest.mark.parametrize(("case", "ip", "status", "who", "reason"), REFUSALS, ids=[row[0] for row in REFUSALS])
def test_a_refused_attempt_applies_nothing_and_is_audited(matrix, case, ip, status, who, reason):
    answer = matrix["cases"][case]
    assert answer["status"] == status
    assert answer["body"]["result"] == "refused"
    assert answer["body"]["applied"] == []
    assert answer["body"]["error"].startswith(reason)
    assert answer["pending_after"] is True, "a refused attempt applied the migration"
    (record,) = records(matrix, ip)
    assert (record["who"], record["origin"], record["via"], record["action"]) == (who, ip, "route", "apply")
    assert record["result"] == "refused"
    assert record["reason"] == answer["body"]["error"]


def test_the_answers_say_how_to_proceed(matrix):
    assert matrix["cases"]["anonymous"]["headers"]["WWW-Authenticate"] == 'Bearer realm="preflight"'
    assert matrix["cases"]["get_instead_of_post"]["headers"]["Allow"] == "POST"


def test_staff_with_the_permission_applies_with_the_csrf_token_from_status(matrix):
    status = matrix["cases"]["status_staff"]
    assert status["status"] == 200
    assert status["body"]["pending"] == [NOTE]
    # the refusals before it are in its audit list, newest last
    assert [record["reason"] for record in status["body"]["audit"]][-1].startswith("CSRF check failed")
    answer = matrix["cases"]["staff_with_permission"]
    assert answer["status"] == 200
    assert answer["body"] == {"result": "applied", "applied": [NOTE], "error": None, "pending": []}
    assert answer["pending_after"] is False, "the column was not added"
    (record,) = records(matrix, "10.0.0.7")
    assert (record["who"], record["result"], record["reason"], record["migrations"]) == (
        "deployer",
        "applied",
        None,
        [NOTE],
    )
    assert record["no_backup"] is True
    assert record["target"].startswith("postgresql://preflight@") and matrix["password"] not in record["target"]


def test_the_right_token_applies(matrix):
    answer = matrix["cases"]["right_token"]
    assert (answer["status"], answer["body"]["result"], answer["body"]["applied"]) == (200, "applied", [NOTE])
    assert answer["pending_after"] is False
    (record,) = records(matrix, "10.0.0.9")
    assert (record["who"], record["result"], record["migrations"]) == ("bearer token", "applied", [NOTE])
    again = matrix["cases"]["nothing_pending"]
    assert (again["status"], again["body"]["result"], again["body"]["applied"]) == (200, "nothing-pending", [])
    assert records(matrix, "10.0.0.12")[0]["result"] == "nothing-pending"


def test_status_is_for_staff_only(matrix):
    for case, status in (("status_anonymous", 401), ("status_non_staff", 403)):
        answer = matrix["cases"][case]
        assert answer["status"] == status
        assert "pending" not in answer["body"] and "audit" not in answer["body"]
    assert not records(matrix, "10.0.0.20") and not records(matrix, "10.0.0.21"), "status reads are not audited"


def test_an_apply_while_another_holds_the_lock_waits_for_nothing_and_says_who(matrix):
    answer = matrix["cases"]["locked"]
    assert answer["status"] == 409
    assert answer["body"]["result"] == "locked"
    assert answer["body"]["error"].startswith("another migration holds the lock on postgresql://")
    assert ": pid " in answer["body"]["error"] and "(other deploy, " in answer["body"]["error"]
    assert answer["pending_after"] is True
    (record,) = records(matrix, "10.0.0.10")
    assert (record["result"], record["reason"]) == ("locked", answer["body"]["error"])


def test_the_rate_limit_counts_refusals_and_answers_429(matrix):
    answers = [matrix["cases"][f"rate_limit_{n}"] for n in range(1, 5)]
    assert [answer["status"] for answer in answers] == [401, 401, 401, 429]
    limited = answers[-1]
    assert limited["body"]["result"] == "refused"
    assert limited["body"]["error"].startswith("rate limit: over 3 attempts in 3600 s from 10.0.0.11; retry after ")
    assert 0 < int(limited["headers"]["Retry-After"]) <= 3600
    audited = records(matrix, "10.0.0.11")
    assert [record["reason"] for record in audited][:3] == [NOT_AUTHENTICATED] * 3
    assert audited[3]["reason"] == limited["body"]["error"]


def test_the_management_command_applies_and_is_audited(matrix):
    command = matrix["cases"]["command"]
    assert command["stdout"].strip() == f"applied 1 migration(s): {NOTE}"
    assert command["pending_after"] is False
    (record,) = [record for record in matrix["audit"] if record["via"] == "command"]
    assert (record["result"], record["migrations"], record["reason"]) == ("applied", [NOTE], None)
    assert record["who"] and record["origin"], "the OS user and the host"


def test_no_answer_or_record_carries_a_secret_or_a_traceback(matrix):
    assert TOKEN not in matrix["raw"]
    assert matrix["password"] not in matrix["raw"]
    assert "Traceback" not in matrix["raw"]
    assert "<html" not in matrix["raw"].lower(), "an answer was an HTML page, not JSON"


def test_a_failing_migration_answers_one_redacted_line(matrix):
    answer = matrix["cases"]["failing"]
    assert answer["status"] == 500, answer["body"]["error"]
    assert answer["body"]["result"] == "failed"
    assert answer["body"]["applied"] == []
    error = answer["body"]["error"]
    assert error.startswith("migration boom.0001_initial failed on the target postgresql://")
    assert ": RuntimeError: password *** refused for postgresql://" in error
    assert "(it was rolled back whole, the migrations before it stay applied)" in error
    assert matrix["password"] not in error
    assert answer["rolled_back"] is True
    (record,) = records(matrix, "10.0.0.13")
    assert (record["result"], record["migrations"]) == ("failed", [])  # none applied; the reason names it
    assert record["reason"].startswith("boom.0001_initial: RuntimeError: password *** refused for postgresql://")
    assert matrix["password"] not in record["reason"]


def test_the_audit_table_is_written_and_read_back(matrix):
    assert matrix["cases"]["table_refusal"]["status"] == 401
    (logged,) = records(matrix, "10.0.0.14")
    status = matrix["cases"]["table_status"]
    assert status["status"] == 200
    assert status["body"]["audit"] == [logged], "status reads the table, which holds this one record"


def test_a_wrong_audit_table_name_is_refused_before_anything(matrix):
    answer = matrix["cases"]["bad_table"]
    assert answer["status"] == 503
    # Which setting is wrong goes to the site's log and `manage.py check`, not to any caller.
    assert answer["body"]["error"] == (
        "the Preflight route is not configured: the site's log and `manage.py check` say why"
    )
    assert "PREFLIGHT_AUDIT_TABLE is not a table name" in matrix["raw"]  # logged
    assert answer["body"]["applied"] == []
    assert not records(matrix, "10.0.0.16"), "nowhere known to audit: the attempt went no further"


def test_refused_status_reads_count_against_the_rate_limit(matrix):
    answers = [matrix["cases"][f"status_guess_{n}"] for n in range(1, 5)]
    assert [answer["status"] for answer in answers] == [401, 401, 401, 429]
    assert answers[-1]["body"]["error"] == "rate limit: too many refused attempts from 10.0.0.17"


def test_the_site_imports_no_cli_part(matrix):
    assert matrix["cases"]["modules"] == []
