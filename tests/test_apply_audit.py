"""The audit trail: JSON lines and a table in the target (real PostgreSQL), never a secret, never a split line."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from preflight import __version__, secrets
from preflight.apply import audit
from preflight.apply.audit import AuditRecord
from preflight.errors import ExitCode, TargetError, UsageError
from preflight.postgres.base import Server

PASSWORD = "Audit-s3cret-pw"


@pytest.fixture(scope="module")
def target(pg: Server) -> Iterator[str]:
    name = pg.create_database("audit")
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE audit_owner LOGIN PASSWORD {}").format(sql.Literal(PASSWORD)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO audit_owner").format(sql.Identifier(name)))
    url = f"postgresql://audit_owner:{PASSWORD}@{pg.info.host}:{pg.info.port}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ops")
    yield url
    pg.drop_database(name)
    with pg.connect() as conn:
        conn.execute("DROP ROLE audit_owner")


def _record(**changes: object) -> AuditRecord:
    values: dict[str, object] = {
        "who": "octocat",
        "origin": "https://github.com/acme/shop/actions/runs/42",
        "via": "action",
        "action": "apply",
        "result": "applied",
        "target": "postgresql://deploy@db.internal:5432/shop",
        "migrations": ["shop.0002_order_note", "shop.0003_index"],
        "backup": "/backups/shop-20261122T140211Z.dump",
        "backup_bytes": 123456,
        "duration_ms": 812.5,
    }
    return AuditRecord(**{**values, **changes})  # type: ignore[arg-type]


def _leaky(url: str) -> AuditRecord:
    """A refusal whose reason quotes the URL, its password and a keyword conninfo, as an error message can."""
    secrets.register_url(url)
    return _record(
        result="failed",
        reason=f'could not connect to {url} (password={PASSWORD}) "quoted" \\ and a newline\nhere',
        target=url,
        migrations=[],
        backup=None,
        backup_bytes=None,
    )


def test_jsonl_appends_one_line_per_record_and_reads_them_back(tmp_path: Path) -> None:
    log = tmp_path / "audit" / "apply.jsonl"  # the folder is created
    first = _record()
    second = _record(result="locked", reason="another migration holds the lock", migrations=[], at=first.at)
    audit.append_jsonl(log, first)
    audit.append_jsonl(log, second)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {
        "who": "octocat",
        "origin": "https://github.com/acme/shop/actions/runs/42",
        "via": "action",
        "action": "apply",
        "result": "applied",
        "target": "postgresql://deploy@db.internal:5432/shop",
        "reason": None,
        "migrations": ["shop.0002_order_note", "shop.0003_index"],
        "backup": "/backups/shop-20261122T140211Z.dump",
        "backup_bytes": 123456,
        "no_backup": False,
        "duration_ms": 812.5,
        "at": first.at,
        "preflight_version": __version__,
    }
    assert first.at.endswith("Z") and first.at[10] == "T"
    assert audit.read_jsonl(log) == [first, second]
    assert audit.read_jsonl(log, last=1) == [second]
    assert audit.read_jsonl(tmp_path / "missing.jsonl") == []


def test_jsonl_never_holds_a_secret_and_stays_valid_json(tmp_path: Path, target: str) -> None:
    log = tmp_path / "apply.jsonl"
    audit.append_jsonl(log, _leaky(target))
    text = log.read_text()
    assert PASSWORD not in text
    (line,) = text.splitlines()  # the newline in the reason stays escaped inside the one line
    data = json.loads(line)
    assert data["target"] == data["reason"].split()[4] == target.replace(PASSWORD, "***")
    assert data["reason"].endswith('(password=*** "quoted" \\ and a newline\nhere')


def test_the_last_records_are_read_from_the_end_of_a_long_log(tmp_path: Path) -> None:
    log = tmp_path / "apply.jsonl"
    with log.open("w") as handle:
        for number in range(3000):
            handle.write(_record(duration_ms=float(number)).to_json() + "\n")
        handle.write("not json at all\n")  # a hand edit: skipped, not fatal
    records = audit.read_jsonl(log, last=5)
    assert [record.duration_ms for record in records] == [2995.0, 2996.0, 2997.0, 2998.0, 2999.0]


def test_an_unwritable_log_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError) as caught:
        audit.check_jsonl(blocker / "apply.jsonl")
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.line() == (
        f"cannot write the audit log {blocker}/apply.jsonl: {blocker} is not a directory. "
        "Pass an --audit-log this user can write"
    )
    with pytest.raises(UsageError, match="is not a directory"):
        audit.append_jsonl(blocker / "apply.jsonl", _record())


APPENDER = """
import sys
from pathlib import Path
from preflight.apply.audit import AuditRecord, append_jsonl
for number in range(200):
    append_jsonl(Path(sys.argv[1]), AuditRecord(
        who=sys.argv[2], origin="host", via="cli", action="apply", result="applied", target="t",
        reason="x" * 5000, migrations=[f"app.{number:04d}"] * 20))
"""


def test_two_processes_appending_200_records_each_leave_400_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "apply.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", APPENDER, str(log), who], env=os.environ.copy()) for who in "ab"]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    lines = log.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 401
    records = [json.loads(line) for line in lines[:-1]]  # each line is a whole record: none split or interleaved
    for who in "ab":
        mine = [record["migrations"][0] for record in records if record["who"] == who]
        assert mine == [f"app.{number:04d}" for number in range(200)]


def _tables(url: str, name: str) -> list[tuple[str, int]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [
            (str(row[0]), int(row[1]))
            for row in conn.execute(
                "SELECT n.nspname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = %s AND c.relkind = 'r'",
                (name,),
            )
        ]


def test_the_table_is_created_once_and_appended(target: str) -> None:
    first, second = _record(), _record(result="nothing-pending", migrations=[])
    assert audit.read_table(target, "ops.preflight_audit") == []  # not there yet: nothing to show
    audit.append_table(target, "ops.preflight_audit", first)
    created = _tables(target, "preflight_audit")
    audit.append_table(target, "ops.preflight_audit", second)
    assert _tables(target, "preflight_audit") == created and [schema for schema, _ in created] == ["ops"]
    with psycopg.connect(target, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT who, via, result, migrations, backup_bytes, no_backup, detail->>'origin', at"
            " FROM ops.preflight_audit ORDER BY id"
        ).fetchall()
    assert [row[:7] for row in rows] == [
        ("octocat", "action", "applied", ["shop.0002_order_note", "shop.0003_index"], 123456, False, first.origin),
        ("octocat", "action", "nothing-pending", [], 123456, False, first.origin),
    ]
    assert rows[0][7].isoformat(timespec="milliseconds").replace("+00:00", "Z") == first.at
    assert audit.read_table(target, "ops.preflight_audit") == [first, second]
    assert audit.read_table(target, "ops.preflight_audit", last=1) == [second]


def test_the_table_never_holds_a_secret(target: str) -> None:
    audit.append_table(target, "leak_check", _leaky(target))
    with psycopg.connect(target, autocommit=True) as conn:
        (text,) = conn.execute("SELECT leak_check::text FROM leak_check").fetchone()  # type: ignore[misc]
    assert PASSWORD not in text and "password=***" in text


@pytest.mark.parametrize(
    "name", ["audit; DROP TABLE x", "a.b.c", "", "1audit", 'ops."audit"', "x" * 64, "ops.", "audit log"]
)
def test_a_bad_table_name_is_refused_before_connecting(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        audit.append_table("postgresql://u:pw@127.0.0.1:1/db", name, _record())
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.line() == (
        f"--audit-table {name!r} is not a table name. "
        "Use [schema.]name: letters, digits, _ and $, starting with a letter or _"
    )


def test_a_missing_schema_is_target_error_naming_the_table(target: str) -> None:
    with pytest.raises(TargetError) as caught:
        audit.append_table(target, "nowhere.audit", _record())
    assert caught.value.line() == (
        'cannot write the audit record to table nowhere.audit: schema "nowhere" does not exist. '
        "Check the schema exists and the target user may CREATE TABLE and INSERT there, or drop --audit-table"
    )


TABLE_APPENDER = """
import sys
from preflight.apply.audit import AuditRecord, append_table
append_table(sys.argv[1], "raced_audit", AuditRecord(
    who=sys.argv[2], origin="host", via="cli", action="apply", result="applied", target="t"))
"""


def test_two_processes_creating_the_table_at_once_both_append(target: str) -> None:
    with psycopg.connect(target) as blocker:
        # An uncommitted table of that name: both writers find no table, and both CREATEs queue
        # behind it, so that they run at the same moment when it is rolled back.
        blocker.execute("CREATE TABLE raced_audit (n int)")
        writers = [
            subprocess.Popen([sys.executable, "-c", TABLE_APPENDER, target, who], stderr=subprocess.PIPE, text=True)
            for who in "ab"
        ]
        deadline = time.monotonic() + 60
        with psycopg.connect(target, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'preflight audit' AND wait_event_type = 'Lock'"
                ).fetchone()
                if waiting == (2,):
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the two writers never waited together")
        blocker.rollback()
    errors = [writer.communicate(timeout=60)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    with psycopg.connect(target, autocommit=True) as conn:
        assert dict(conn.execute("SELECT who, count(*) FROM raced_audit GROUP BY who").fetchall()) == {"a": 1, "b": 1}  # type: ignore[arg-type]


def test_who_and_where_in_actions_and_on_a_machine() -> None:
    actions = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "4242",
    }
    assert audit.who_and_where(actions) == ("octocat", "https://github.com/acme/shop/actions/runs/4242")
    assert audit.who_and_where({}) == (getpass.getuser(), socket.gethostname())


def test_a_record_refuses_an_unknown_result() -> None:
    with pytest.raises(ValueError, match=r"AuditRecord\.result 'ok' is not one of applied, nothing-pending"):
        _record(result="ok")
